//! The measuring connection: a small blocking client of PostgreSQL's extended protocol.
//!
//! Only the timed loop uses it (sqlx does everything else). It sends what sqlx sends for a
//! cached prepared statement — Bind (binary parameters and results), Execute, Close portal,
//! Sync, in one write — and reads every reply up to ReadyForQuery. What it leaves out is the
//! client-side cost that is not the query's: an async stream per execution, a statement-cache
//! lookup, logging, and the readiness round trip of an event loop (`EAGAIN`, `epoll_wait`,
//! `recv`): a blocking `recv` waits for the reply as pgbench's libpq does. Measured in
//! docs/method.md ("Overhead").

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use postgres_protocol::authentication::{md5_hash, sasl};
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;

/// Where and as whom to connect: what sqlx would use for the same options.
#[derive(Clone)]
pub struct Target {
    address: Address,
    user: String,
    password: Option<String>,
    database: Option<String>,
    /// Startup parameters, as sqlx sends them.
    params: Vec<(String, String)>,
    /// A reply that takes longer than this is a dead connection (statement_timeout plus a margin).
    read_timeout: Duration,
}

#[derive(Clone, Debug)]
enum Address {
    Tcp(String, u16),
    Unix(PathBuf),
}

impl fmt::Debug for Target {
    // By hand: the password is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("address", &self.address)
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The target sqlx would connect to with `o` (host or unix socket, user, password resolved
    /// from the URL, `PGPASSWORD` or a pgpass file, database, application name and `options`).
    pub fn from_options(o: &PgConnectOptions, read_timeout: Duration) -> Target {
        let address = match o.get_socket() {
            Some(dir) if dir.is_dir() => {
                Address::Unix(dir.join(format!(".s.PGSQL.{}", o.get_port())))
            }
            Some(path) => Address::Unix(path.clone()),
            None => Address::Tcp(o.get_host().to_string(), o.get_port()),
        };
        let password = o.to_url_lossy().password().map(percent_decode);
        let mut params: Vec<(String, String)> = [
            ("DateStyle", "ISO, MDY"),
            ("client_encoding", "UTF8"),
            ("TimeZone", "UTC"),
            ("extra_float_digits", "2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(app) = o.get_application_name() {
            params.push(("application_name".into(), app.into()));
        }
        if let Some(options) = o.get_options() {
            params.push(("options".into(), options.into()));
        }
        Target {
            address,
            user: o.get_username().to_string(),
            password,
            database: o.get_database().map(str::to_string),
            params,
            read_timeout,
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error the server reported (ErrorResponse), with its SQLSTATE.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbError {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub r#where: Option<String>,
}

impl fmt::Display for DbError {
    /// The same text as `seed::describe_pg_error`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgreSQL error {}: {}", self.code, self.message)?;
        for (label, v) in [
            ("detail", &self.detail),
            ("hint", &self.hint),
            ("where", &self.r#where),
        ] {
            if let Some(v) = v {
                write!(f, "\n  {label}: {v}")?;
            }
        }
        Ok(())
    }
}

/// Why an exchange on the measuring connection failed.
#[derive(Debug)]
pub enum WireError {
    /// The server refused the statement; the connection is ready for the next one.
    Db(DbError),
    Io(io::Error),
    /// Something the server said that this client does not handle (or a bad value to bind).
    Protocol(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Db(e) => e.fmt(f),
            WireError::Io(e) => write!(f, "connection error: {e}"),
            WireError::Protocol(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for WireError {}

impl From<io::Error> for WireError {
    fn from(e: io::Error) -> Self {
        WireError::Io(e)
    }
}

type WireResult<T> = std::result::Result<T, WireError>;

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn connect(address: &Address, read_timeout: Duration) -> io::Result<Stream> {
        let connect_timeout = Duration::from_secs(30);
        Ok(match address {
            Address::Tcp(host, port) => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                let mut found = None;
                for addr in (host.as_str(), *port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, connect_timeout) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let s = found.ok_or(last)?;
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(read_timeout))?;
                Stream::Tcp(s)
            }
            Address::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_read_timeout(Some(read_timeout))?;
                Stream::Unix(s)
            }
        })
    }
}

impl Read for Stream {
    /// Retries a read a signal interrupted: with a read timeout set (SO_RCVTIMEO) the kernel
    /// does not restart `recv` after a handler ran, and Ctrl-C (which querygate handles once
    /// the measuring loop yields) must not fail the execution in flight.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let r = match self {
                Stream::Tcp(s) => s.read(buf),
                Stream::Unix(s) => s.read(buf),
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One measuring connection. Statements are prepared once under a name derived from their
/// text; an execution is one write and blocking reads up to ReadyForQuery.
pub struct WireConn {
    stream: Stream,
    inbuf: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    prepared: HashSet<String>,
    /// The server process's id (BackendKeyData), as the server's pid namespace sees it.
    backend_pid: Option<i32>,
}

/// The encoded value of one parameter (binary format), `None` for NULL.
pub type Param = Option<Vec<u8>>;

impl WireConn {
    /// Connects and authenticates (trust, password, md5, SCRAM-SHA-256; no TLS, as sqlx is
    /// built here).
    pub fn connect(t: &Target) -> WireResult<WireConn> {
        let mut conn = WireConn {
            stream: Stream::connect(&t.address, t.read_timeout)?,
            inbuf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
            out: Vec::with_capacity(1024),
            prepared: HashSet::new(),
            backend_pid: None,
        };
        conn.startup(t)?;
        Ok(conn)
    }

    fn startup(&mut self, t: &Target) -> WireResult<()> {
        let mut body = 196_608u32.to_be_bytes().to_vec(); // protocol 3.0
        let mut pairs = vec![("user", t.user.as_str())];
        if let Some(db) = &t.database {
            pairs.push(("database", db));
        }
        pairs.extend(t.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for (k, v) in pairs {
            cstr(&mut body, k);
            cstr(&mut body, v);
        }
        body.push(0);
        let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        msg.extend_from_slice(&body);
        self.stream.write_all(&msg)?;
        let mut scram: Option<sasl::ScramSha256> = None;
        loop {
            let (tag, body) = self.recv_owned()?;
            match tag {
                b'R' => self.authenticate(t, &body, &mut scram)?,
                // A startup error ends the connection.
                b'E' => return Err(WireError::Db(parse_error(&body))),
                b'Z' => return Ok(()),
                b'K' => self.backend_pid = Some(be_i32(&body, 0)?),
                _ => {} // ParameterStatus, notices
            }
        }
    }

    fn authenticate(
        &mut self,
        t: &Target,
        body: &[u8],
        scram: &mut Option<sasl::ScramSha256>,
    ) -> WireResult<()> {
        let code = be_i32(body, 0)?;
        let password = || {
            t.password.as_deref().ok_or_else(|| {
                WireError::Protocol(format!(
                    "the server asks user `{}` for a password and none is set \
                     (put it in the URL or PGPASSWORD)",
                    t.user
                ))
            })
        };
        let mut reply = Vec::new();
        match code {
            0 => return Ok(()),
            3 => cstr(&mut reply, password()?),
            5 => {
                let salt: [u8; 4] = body
                    .get(4..8)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| WireError::Protocol("short md5 request".into()))?;
                cstr(
                    &mut reply,
                    &md5_hash(t.user.as_bytes(), password()?.as_bytes(), salt),
                );
            }
            10 => {
                let offered = String::from_utf8_lossy(&body[4..]).into_owned();
                if !offered.split('\0').any(|m| m == sasl::SCRAM_SHA_256) {
                    return Err(WireError::Protocol(format!(
                        "the server offers SASL mechanisms {offered:?}; querygate's measuring \
                         connection speaks SCRAM-SHA-256"
                    )));
                }
                let s = sasl::ScramSha256::new(
                    password()?.as_bytes(),
                    sasl::ChannelBinding::unsupported(),
                );
                cstr(&mut reply, sasl::SCRAM_SHA_256);
                reply.extend_from_slice(&(s.message().len() as i32).to_be_bytes());
                reply.extend_from_slice(s.message());
                *scram = Some(s);
            }
            11 | 12 => {
                let s = scram
                    .as_mut()
                    .ok_or_else(|| WireError::Protocol("SASL message out of order".into()))?;
                if code == 11 {
                    s.update(&body[4..])?;
                    reply.extend_from_slice(s.message());
                } else {
                    s.finish(&body[4..])?;
                    return Ok(());
                }
            }
            other => {
                return Err(WireError::Protocol(format!(
                    "the server asks for authentication method {other}, which querygate's \
                     measuring connection does not speak (it speaks trust, password, md5 and \
                     SCRAM-SHA-256)"
                )))
            }
        }
        self.out.clear();
        put(&mut self.out, b'p', &reply);
        self.stream.write_all(&self.out)?;
        Ok(())
    }

    /// Prepares `sql` under `name` unless done on this connection (Parse without parameter
    /// types: the server infers them) and returns the inferred parameter type OIDs.
    pub fn prepare(&mut self, name: &str, sql: &str) -> WireResult<Option<Vec<u32>>> {
        if self.prepared.contains(name) {
            return Ok(None);
        }
        let mut body = Vec::new();
        cstr(&mut body, name);
        cstr(&mut body, sql);
        body.extend_from_slice(&0u16.to_be_bytes());
        self.out.clear();
        put(&mut self.out, b'P', &body);
        let mut describe = vec![b'S'];
        cstr(&mut describe, name);
        put(&mut self.out, b'D', &describe);
        put(&mut self.out, b'S', &[]);
        self.stream.write_all(&self.out)?;
        let mut oids = Vec::new();
        let mut error = None;
        loop {
            let (tag, body) = self.recv_owned()?;
            match tag {
                b't' => {
                    let n = be_u16(&body, 0)? as usize;
                    oids = (0..n)
                        .map(|i| be_i32(&body, 2 + 4 * i).map(|v| v as u32))
                        .collect::<WireResult<_>>()?;
                }
                b'E' => error = Some(parse_error(&body)),
                b'Z' => break,
                _ => {}
            }
        }
        if let Some(e) = error {
            return Err(WireError::Db(e));
        }
        self.prepared.insert(name.to_string());
        Ok(Some(oids))
    }

    /// Runs prepared statement `name` with `params`, reading (and dropping) every row.
    pub fn execute(&mut self, name: &str, params: &[Param]) -> WireResult<()> {
        self.out.clear();
        let out = &mut self.out;
        let bind_at = out.len();
        out.push(b'B');
        out.extend_from_slice(&[0; 4]);
        out.push(0); // unnamed portal
        cstr(out, name);
        out.extend_from_slice(&[0, 1, 0, 1]); // one format code: binary
        out.extend_from_slice(&(params.len() as u16).to_be_bytes());
        for p in params {
            match p {
                Some(v) => {
                    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    out.extend_from_slice(v);
                }
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        out.extend_from_slice(&[0, 1, 0, 1]); // results: binary
        let len = (out.len() - bind_at - 1) as u32;
        out[bind_at + 1..bind_at + 5].copy_from_slice(&len.to_be_bytes());
        put(out, b'E', &[0, 0, 0, 0, 0]); // unnamed portal, no row limit
        put(out, b'C', b"P\0"); // close the unnamed portal, as sqlx does
        put(out, b'S', &[]);
        self.stream.write_all(&self.out)?;
        self.read_until_ready()
    }

    /// Runs `sql` with the simple protocol (transaction control, as sqlx runs it).
    pub fn simple(&mut self, sql: &str) -> WireResult<()> {
        let mut body = Vec::new();
        cstr(&mut body, sql);
        self.out.clear();
        put(&mut self.out, b'Q', &body);
        self.stream.write_all(&self.out)?;
        self.read_until_ready()
    }

    /// Ends the session (Terminate, as on drop).
    pub fn close(self) {}

    /// The id of the server process serving this connection (in the server's pid namespace).
    pub fn backend_pid(&self) -> Option<i32> {
        self.backend_pid
    }

    fn read_until_ready(&mut self) -> WireResult<()> {
        let mut error = None;
        loop {
            let (tag, at, len) = self.recv()?;
            match tag {
                b'Z' => return error.map_or(Ok(()), |e| Err(WireError::Db(e))),
                b'E' => error = Some(parse_error(&self.inbuf[at..at + len])),
                b'G' => {
                    // COPY … FROM STDIN: nothing to send; the server answers with an error.
                    let mut fail = Vec::new();
                    cstr(&mut fail, "querygate does not measure COPY FROM STDIN");
                    self.out.clear();
                    put(&mut self.out, b'f', &fail);
                    self.stream.write_all(&self.out)?;
                }
                _ => {} // BindComplete, DataRow, CommandComplete, CloseComplete, notices
            }
        }
    }

    fn recv_owned(&mut self) -> WireResult<(u8, Vec<u8>)> {
        let (tag, at, len) = self.recv()?;
        Ok((tag, self.inbuf[at..at + len].to_vec()))
    }

    /// The next message: its tag and where its body is in `inbuf` (valid until the next call).
    fn recv(&mut self) -> WireResult<(u8, usize, usize)> {
        loop {
            let have = self.end - self.start;
            if have >= 5 {
                let len = be_i32(&self.inbuf, self.start + 1)? as usize;
                if len < 4 {
                    return Err(WireError::Protocol(format!("bad message length {len}")));
                }
                if have > len {
                    let tag = self.inbuf[self.start];
                    let at = self.start + 5;
                    self.start += 1 + len;
                    return Ok((tag, at, len - 4));
                }
                if 1 + len > self.inbuf.len() {
                    self.inbuf.resize((1 + len).next_power_of_two(), 0);
                }
            }
            if self.start > 0 {
                self.inbuf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.inbuf.len() {
                self.inbuf.resize(self.inbuf.len() * 2, 0);
            }
            let n = self.stream.read(&mut self.inbuf[self.end..])?;
            if n == 0 {
                return Err(WireError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            self.end += n;
        }
    }
}

impl Drop for WireConn {
    /// Terminate, so the server ends the session cleanly; errors are irrelevant by then.
    fn drop(&mut self) {
        let _ = self.stream.write_all(&[b'X', 0, 0, 0, 4]);
    }
}

fn put(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(body);
}

fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

fn be_i32(b: &[u8], at: usize) -> WireResult<i32> {
    b.get(at..at + 4)
        .map(|s| i32::from_be_bytes(s.try_into().expect("4 bytes")))
        .ok_or_else(|| WireError::Protocol("short message".into()))
}

fn be_u16(b: &[u8], at: usize) -> WireResult<u16> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes(s.try_into().expect("2 bytes")))
        .ok_or_else(|| WireError::Protocol("short message".into()))
}

/// The fields of an ErrorResponse body.
pub fn parse_error(body: &[u8]) -> DbError {
    let mut e = DbError::default();
    for field in body.split(|b| *b == 0) {
        let Some((&kind, value)) = field.split_first() else {
            continue;
        };
        let value = String::from_utf8_lossy(value).into_owned();
        match kind {
            b'C' => e.code = value,
            b'M' => e.message = value,
            b'D' => e.detail = Some(value),
            b'H' => e.hint = Some(value),
            b'W' => e.r#where = Some(value),
            _ => {}
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_fields() {
        let body =
            b"SERROR\0VERROR\0C22012\0Mdivision by zero\0Dsome detail\0Htry this\0Fint.c\0\0";
        let e = parse_error(body);
        assert_eq!(e.code, "22012");
        assert_eq!(e.message, "division by zero");
        assert_eq!(e.detail.as_deref(), Some("some detail"));
        assert_eq!(e.hint.as_deref(), Some("try this"));
        assert_eq!(
            e.to_string(),
            "PostgreSQL error 22012: division by zero\n  detail: some detail\n  hint: try this"
        );
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("p%40ss%2Fw%25rd"), "p@ss/w%rd");
        assert_eq!(percent_decode("plain%zz%4"), "plain%zz%4");
    }

    #[test]
    fn target_takes_what_sqlx_would_use() {
        let o: PgConnectOptions = "postgres://u:p%40ss@db.example:6543/x?application_name=qg"
            .parse()
            .unwrap();
        let o = o.options([("statement_timeout", "5000")]);
        let t = Target::from_options(&o, Duration::from_secs(1));
        assert!(matches!(&t.address, Address::Tcp(h, 6543) if h == "db.example"));
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert_eq!(t.database.as_deref(), Some("x"));
        assert!(t.params.contains(&("application_name".into(), "qg".into())));
        assert!(t
            .params
            .iter()
            .any(|(k, v)| k == "options" && v.contains("statement_timeout=5000")));
        assert!(
            !format!("{t:?}").contains("p@ss"),
            "Debug hides the password"
        );
    }
}
