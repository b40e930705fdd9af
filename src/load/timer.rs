//! A precise sleep for the open-loop schedule. tokio's timer wheel has 1 ms resolution: a
//! client woken up to 1 ms late would add that lag to every latency measured from the intended
//! start. A timerfd (one per client) wakes the runtime through epoll within tens of µs, as
//! pgbench's `select()` timeout does.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Below this, the wait is not worth a system call.
const SPIN_BELOW: Duration = Duration::from_micros(20);

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

pub struct Timer {
    fd: Option<AsyncFd<Fd>>,
}

impl Timer {
    /// Falls back to tokio's timer when a timerfd cannot be created.
    pub fn new() -> Self {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .ok()
        .and_then(|t| {
            // SAFETY: the TimerFd owns its descriptor and lives inside the AsyncFd, so the
            // descriptor stays open and the same for the AsyncFd's whole lifetime.
            unsafe { AsyncFd::register_with_interest(Fd(t), Interest::READABLE) }.ok()
        });
        Timer { fd }
    }

    pub async fn sleep(&self, d: Duration) -> io::Result<()> {
        if d < SPIN_BELOW {
            return Ok(());
        }
        let Some(fd) = &self.fd else {
            tokio::time::sleep(d).await;
            return Ok(());
        };
        fd.get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(d)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(io::Error::from)?;
        loop {
            let mut guard = fd.readable().await?;
            let read = guard.try_io(|inner| {
                let mut buf = [0u8; 8];
                nix::unistd::read(inner.get_ref().0.as_fd(), &mut buf).map_err(io::Error::from)
            });
            match read {
                Ok(r) => return r.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}
