//! Command-line flags (clap) and their conversion into a validated [`Config`]. No clap type
//! is used past this module.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{
    BackendConfig, BackendKind, Baseline, CheckConfig, Command, CompareConfig, Config,
    ExplainConfig, FailOn, LoadOverrides, MergeConfig, OutputFormat, Outputs, Overrides, Placement,
    ReportConfig, RunConfig,
};
use crate::error::Error;

#[derive(Parser, Debug)]
#[command(
    name = "querygate",
    version,
    about = "Measure PostgreSQL queries before and after a migration, check optimisation claims, gate CI on regressions"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
    /// No progress output on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum CliCommand {
    /// Measure scenarios before and after their migration.
    Run(Box<RunArgs>),
    /// Validate scenario files without running them.
    Check {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Show the plans of a scenario's operations, before and after (no timing).
    Explain(ExplainArgs),
    /// Render a results file as a table, JSON, Markdown, HTML or JUnit XML.
    Report(ReportArgs),
    /// Compare two results files (baseline first): the regression gate, offline.
    Compare(CompareArgs),
    /// Merge results files (e.g. CI shards) into one: same scenario and scale pooled.
    Merge(MergeArgs),
    /// Print the JSON Schema of results files.
    Schema,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Results files written by `querygate run` (or by an earlier merge).
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// The merged results file.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Also print the merged report on stdout.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    #[command(flatten)]
    pub outputs: OutputArgs,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Also write a Markdown summary (pull-request comment, $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write a self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write JUnit XML (one test case per operation and claim).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

impl OutputArgs {
    fn into_outputs(self) -> Outputs {
        Outputs {
            markdown: self.markdown,
            html: self.html,
            junit: self.junit,
        }
    }
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The baseline results file.
    pub base: PathBuf,
    /// The new results file.
    pub new: PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// Compare even when the baseline measured other inputs (schema, seed, variables, settings, run parameters, SQL, parameters) or ran on another PostgreSQL major version.
    #[arg(long)]
    pub allow_fingerprint_mismatch: bool,
    /// What fails the comparison (exit code 1): refuted claims, regressions, or both.
    #[arg(long, value_enum, default_value = "both", env = "QUERYGATE_FAIL_ON")]
    pub fail_on: FailOnArg,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A results file written by `querygate run`.
    pub results: PathBuf,
    /// What to print on stdout (default: table, or nothing when an output file is given).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    #[command(flatten)]
    pub outputs: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Where PostgreSQL comes from: docker if usable, else a local ephemeral cluster (auto).
    #[arg(long, value_enum, default_value = "auto", env = "QUERYGATE_BACKEND")]
    pub backend: BackendArg,
    /// An existing server for --backend url; querygate creates and drops its own databases there.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Docker image for --backend docker.
    #[arg(long, default_value = "postgres:17", env = "QUERYGATE_IMAGE")]
    pub image: String,
    /// Directory with initdb/postgres for --backend local (default: pg_config, PATH, /usr/lib/postgresql/*/bin).
    #[arg(long, env = "QUERYGATE_PG_BINDIR")]
    pub pg_bindir: Option<PathBuf>,
    /// CPU placement of a server querygate starts (local, or a container on a local Docker
    /// engine) and the measuring thread: `split` (server on one CPU, client on another),
    /// `shared` (both on one CPU), `free` (no pinning). See docs/method.md.
    #[arg(long, value_enum, default_value = "split")]
    pub placement: PlacementArg,
    /// The same as --placement free.
    #[arg(long, conflicts_with = "placement")]
    pub no_pin: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlacementArg {
    Split,
    Shared,
    Free,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario files (TOML).
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub options: RunOptions,
}

/// The flags of `run` other than the scenario files: shared with bench targets (`bench::Bench`).
#[derive(Args, Debug)]
pub struct RunOptions {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Data scale, or a comma-separated sweep (e.g. 1e4,1e5); overrides data.scale.
    #[arg(long)]
    pub scale: Option<String>,
    /// Results file (default results/run-<UTC time>.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// Override run.rounds.
    #[arg(long)]
    pub rounds: Option<u64>,
    /// Override run.iterations.
    #[arg(long)]
    pub iterations: Option<u64>,
    /// Override run.warmup (a count of executions), or with a unit (`5s`) the load warm-up.
    #[arg(long)]
    pub warmup: Option<String>,
    /// Load mode: concurrent clients, each with its own connection (overrides load.clients).
    #[arg(long, help_heading = "Load")]
    pub clients: Option<u32>,
    /// Load mode: total target rate in executions per second (open loop); 0 = closed loop.
    #[arg(long, help_heading = "Load")]
    pub rate: Option<f64>,
    /// Load mode: measured time of the before/after phases, e.g. 20s (overrides load.duration).
    #[arg(long, help_heading = "Load")]
    pub duration: Option<String>,
    /// Load mode: OS threads driving the clients (like pgbench -j).
    #[arg(long, help_heading = "Load")]
    pub threads: Option<u32>,
    /// Load mode: phases of the before/after comparison (even, A B B A …).
    #[arg(long, help_heading = "Load")]
    pub phases: Option<u32>,
    /// Run the migration while the load runs on the before database (see docs/load.md).
    #[arg(long, help_heading = "Load")]
    pub under_load: bool,
    /// Load mode with the scenario's [load] settings (any other load flag implies it).
    #[arg(long, help_heading = "Load")]
    pub load: bool,
    /// Stop the whole run after this many seconds (exit code 3, partial results kept).
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// Compare with a baseline results file (the regression gate).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Save this run as a baseline (conventionally under results/baselines/).
    #[arg(long, value_name = "FILE")]
    pub save_baseline: Option<PathBuf>,
    /// Let --save-baseline replace an existing file.
    #[arg(long)]
    pub overwrite_baseline: bool,
    /// Compare with --baseline even when it measured other inputs (schema, seed, variables, settings, run parameters, SQL, parameters) or ran on another PostgreSQL major version.
    #[arg(long)]
    pub allow_fingerprint_mismatch: bool,
    /// What fails the run (exit code 1): refuted claims, regressions against the baseline, or both.
    #[arg(long, value_enum, default_value = "both", env = "QUERYGATE_FAIL_ON")]
    pub fail_on: FailOnArg,
}

/// The flags of a bench target built with `querygate::Bench` (`cargo bench --bench NAME -- …`):
/// those of `run`, without scenario files, plus the flags cargo and libtest harnesses are
/// called with (by cargo, cargo-nextest, IDEs), accepted and ignored. Read through
/// [`parse_bench_args`].
#[derive(Parser, Debug)]
#[command(
    about = "Measure Rust operations before and after a migration with querygate (flags as `querygate run`)"
)]
pub struct BenchCli {
    /// Only operations whose name contains one of these words (cargo bench's filter).
    pub filters: Vec<String>,
    #[command(flatten)]
    pub options: RunOptions,
    /// No progress output on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Passed by `cargo bench`: measure fully. Without it (`cargo test --benches`), a short
    /// smoke run (2 rounds of 2 executions) checks that the operations work.
    #[arg(long)]
    pub bench: bool,
    /// libtest's `--list`: there are no libtest tests to list; nothing is printed.
    #[arg(long, hide = true)]
    pub list: bool,
    #[command(flatten)]
    pub libtest: LibtestArgs,
}

/// libtest's flags, which cargo, cargo-nextest and IDEs may pass to any bench or test target:
/// accepted so that they are no usage error, and ignored (a querygate bench target's name
/// filters are its only selection). libtest's `--format pretty|terse` is removed before
/// parsing (see [`parse_bench_args`]); `--format json` is querygate's.
#[derive(Args, Debug, Default)]
pub struct LibtestArgs {
    #[arg(long, hide = true)]
    pub nocapture: bool,
    #[arg(long = "no-capture", hide = true)]
    pub no_capture: bool,
    #[arg(long, hide = true)]
    pub exact: bool,
    #[arg(long, hide = true)]
    pub show_output: bool,
    #[arg(long, hide = true)]
    pub ignored: bool,
    #[arg(long, hide = true)]
    pub include_ignored: bool,
    #[arg(long, hide = true)]
    pub test: bool,
    #[arg(long, hide = true)]
    pub test_threads: Option<String>,
    #[arg(long, hide = true)]
    pub skip: Vec<String>,
    #[arg(long, hide = true)]
    pub color: Option<String>,
    #[arg(long, hide = true)]
    pub logfile: Option<String>,
    #[arg(long, hide = true)]
    pub report_time: bool,
    #[arg(long, hide = true)]
    pub ensure_time: bool,
    #[arg(long, hide = true)]
    pub shuffle: bool,
    #[arg(long, hide = true)]
    pub shuffle_seed: Option<String>,
    #[arg(long, hide = true)]
    pub force_run_in_process: bool,
    #[arg(long, hide = true)]
    pub exclude_should_panic: bool,
    /// `-Z unstable-options`, which libtest's `--format json` and `--report-time` need.
    #[arg(short = 'Z', hide = true)]
    pub unstable: Vec<String>,
}

/// What a bench target's command line asks for.
#[derive(Debug)]
pub enum BenchRequest {
    /// Measure: the configuration of `querygate run` for the bench's scenario, and `--quiet`.
    Run(Box<RunConfig>, bool),
    /// libtest's `--list`, with or without `--format terse` or `--ignored` (cargo-nextest and
    /// IDEs call it to find tests): a querygate bench target has no libtest tests to list, so
    /// nothing is printed, and the exit code is 0.
    List,
    /// `--help` or `--version`: this text goes to stdout, and the exit code is 0.
    Print(String),
}

/// Parses the command line of a bench target (`args[0]` is the program name) into what it
/// asks for, the run configured for the bench's `scenario` file. The one place a bench
/// target's flags are read; clap stays in this file.
///
/// libtest's `--format` collides with `run`'s: `pretty` and `terse`, values querygate does
/// not know, are libtest's and dropped; `table`, `json` and `markdown` are querygate's (so
/// `--format json` prints querygate's JSON report, not libtest's events).
pub fn parse_bench_args(args: Vec<OsString>, scenario: PathBuf) -> Result<BenchRequest, Error> {
    let cli = match BenchCli::try_parse_from(without_libtest_format(args)) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => return Ok(BenchRequest::Print(e.render().to_string())),
        Err(e) => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text).trim_end();
            return Err(Error::Usage(text.to_string()));
        }
    };
    if cli.list {
        return Ok(BenchRequest::List);
    }
    let (config, quiet) = cli.into_run_config(scenario)?;
    Ok(BenchRequest::Run(Box::new(config), quiet))
}

/// `args` without libtest's `--format pretty|terse` (`--format=terse` too), which clap would
/// refuse as values of querygate's `--format`.
fn without_libtest_format(args: Vec<OsString>) -> Vec<OsString> {
    const LIBTEST: [&str; 2] = ["pretty", "terse"];
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--format")
                if args
                    .peek()
                    .and_then(|v| v.to_str())
                    .is_some_and(|v| LIBTEST.contains(&v)) =>
            {
                args.next();
            }
            Some(a)
                if a.strip_prefix("--format=")
                    .is_some_and(|v| LIBTEST.contains(&v)) => {}
            _ => out.push(arg),
        }
    }
    out
}

impl BenchCli {
    /// The run configuration for `scenario`, and `--quiet`.
    fn into_run_config(self, scenario: PathBuf) -> Result<(RunConfig, bool), Error> {
        let mut options = self.options;
        if !self.bench {
            options.rounds.get_or_insert(2);
            options.iterations.get_or_insert(2);
            options.warmup.get_or_insert_with(|| "1".into());
        }
        let mut config = options.into_run_config(vec![scenario])?;
        config.implementations.only = self.filters;
        Ok((config, self.quiet))
    }
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    pub scenario: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Only this operation (default: all).
    #[arg(long)]
    pub operation: Option<String>,
    #[arg(long)]
    pub scale: Option<String>,
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Table,
    Json,
    Markdown,
}

/// The `--backend` values; converted into [`BackendKind`] (clap types stay in this file).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    Auto,
    Docker,
    Local,
    Url,
}

/// The `--fail-on` values; converted into [`FailOn`].
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOnArg {
    Claims,
    Regressions,
    Both,
}

impl From<FailOnArg> for FailOn {
    fn from(f: FailOnArg) -> Self {
        match f {
            FailOnArg::Claims => FailOn::Claims,
            FailOnArg::Regressions => FailOn::Regressions,
            FailOnArg::Both => FailOn::Both,
        }
    }
}

impl From<BackendArg> for BackendKind {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Auto => BackendKind::Auto,
            BackendArg::Docker => BackendKind::Docker,
            BackendArg::Local => BackendKind::Local,
            BackendArg::Url => BackendKind::Url,
        }
    }
}

impl From<FormatArg> for OutputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Table => OutputFormat::Table,
            FormatArg::Json => OutputFormat::Json,
            FormatArg::Markdown => OutputFormat::Markdown,
        }
    }
}

/// Parses "1e4,100000" into scales.
pub fn parse_scales(s: &str) -> Result<Vec<i64>, Error> {
    s.split(',')
        .map(|p| {
            let p = p.trim().replace('_', "");
            p.parse::<i64>()
                .ok()
                .or_else(|| {
                    p.parse::<f64>()
                        .ok()
                        .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f < 9e15)
                        .map(|f| f as i64)
                })
                .filter(|v| *v >= 1)
                .ok_or_else(|| {
                    Error::Usage(format!("--scale: `{p}` is not a positive whole number"))
                })
        })
        .collect()
}

/// `--warmup 20` (executions, run.warmup) or `--warmup 5s` (the load warm-up).
fn split_warmup(w: Option<&str>) -> Result<(Option<u64>, Option<u64>), Error> {
    let Some(w) = w else { return Ok((None, None)) };
    if let Ok(n) = w.trim().parse::<u64>() {
        return Ok((Some(n), None));
    }
    crate::scenario::parse_duration_ms(w)
        .map(|ms| (None, Some(ms)))
        .map_err(|e| {
            Error::Usage(format!(
                "--warmup: a count of executions (20) or a load warm-up duration (5s): {e}"
            ))
        })
}

fn backend(a: ServerArgs) -> Result<BackendConfig, Error> {
    if a.backend == BackendArg::Url && a.database_url.is_none() {
        return Err(Error::Usage(
            "--backend url needs --database-url or DATABASE_URL".into(),
        ));
    }
    if let (BackendArg::Url, Some(url)) = (a.backend, &a.database_url) {
        crate::provision::url::parse_connection(url)
            .map_err(|why| Error::Usage(format!("--database-url: {why}")))?;
    }
    Ok(BackendConfig {
        kind: a.backend.into(),
        database_url: a.database_url,
        image: a.image,
        pg_bindir: a.pg_bindir,
        placement: match (a.no_pin, a.placement) {
            (true, _) | (_, PlacementArg::Free) => Placement::Free,
            (_, PlacementArg::Shared) => Placement::Shared,
            (_, PlacementArg::Split) => Placement::Split,
        },
    })
}

impl RunOptions {
    /// Validates the flags into the configuration of a run of `scenarios`.
    pub fn into_run_config(self, scenarios: Vec<PathBuf>) -> Result<RunConfig, Error> {
        let a = self;
        let scales = match &a.scale {
            Some(s) => parse_scales(s)?.into_iter().map(Some).collect(),
            None => vec![None],
        };
        if a.rounds == Some(0) || a.rounds == Some(1) {
            return Err(Error::Usage(
                "--rounds must be at least 2 (each round is one paired sample)".into(),
            ));
        }
        if a.iterations == Some(0) {
            return Err(Error::Usage("--iterations must be at least 1".into()));
        }
        if a.timeout == 0 {
            return Err(Error::Usage("--timeout must be at least 1 second".into()));
        }
        let (warmup, load_warmup) = split_warmup(a.warmup.as_deref())?;
        let duration_ms = a
            .duration
            .as_deref()
            .map(|d| {
                crate::scenario::parse_duration_ms(d)
                    .map_err(|e| Error::Usage(format!("--duration: {e}")))
            })
            .transpose()?;
        if a.rate.is_some_and(|r| !(r >= 0.0 && r.is_finite())) {
            return Err(Error::Usage(
                "--rate must be a number of executions per second (0: closed loop)".into(),
            ));
        }
        let load = LoadOverrides {
            clients: a.clients,
            rate: a.rate.map(|r| (r > 0.0).then_some(r)),
            duration_ms,
            warmup_ms: load_warmup,
            threads: a.threads,
            phases: a.phases,
            under_load: a.under_load,
            load: a.load,
        };
        Ok(RunConfig {
            scenarios,
            scales,
            backend: backend(a.server)?,
            out: a.out,
            format: a.format.into(),
            outputs: a.outputs.into_outputs(),
            overrides: Overrides {
                rounds: a.rounds,
                iterations: a.iterations,
                warmup,
                load,
            },
            timeout_s: a.timeout,
            baseline: Baseline {
                compare_with: a.baseline,
                save_to: a.save_baseline,
                overwrite: a.overwrite_baseline,
                allow_mismatch: a.allow_fingerprint_mismatch,
            },
            implementations: Default::default(),
            fail_on: a.fail_on.into(),
        })
    }
}

impl Cli {
    /// The process's command line, parsed; on a usage error (or `--help`, `--version`) clap
    /// prints and exits, as a command-line tool does.
    pub fn from_args() -> Cli {
        <Cli as Parser>::parse()
    }

    /// The one conversion from flags to configuration.
    pub fn into_config(self) -> Result<Config, Error> {
        let command = match self.command {
            CliCommand::Run(a) => {
                let a = *a;
                Command::Run(Box::new(a.options.into_run_config(a.scenarios)?))
            }
            CliCommand::Check { scenarios } => Command::Check(CheckConfig { scenarios }),
            CliCommand::Report(a) => Command::Report(ReportConfig {
                input: a.results,
                format: a.format.map(Into::into),
                outputs: a.outputs.into_outputs(),
            }),
            CliCommand::Schema => Command::Schema,
            CliCommand::Merge(a) => Command::Merge(MergeConfig {
                inputs: a.results,
                out: a.out,
                format: a.format.map(Into::into),
                outputs: a.outputs.into_outputs(),
            }),
            CliCommand::Compare(a) => Command::Compare(CompareConfig {
                base: a.base,
                new: a.new,
                format: a.format.into(),
                outputs: a.outputs.into_outputs(),
                allow_mismatch: a.allow_fingerprint_mismatch,
                fail_on: a.fail_on.into(),
            }),
            CliCommand::Explain(a) => {
                let scale = match &a.scale {
                    Some(s) => Some(*parse_scales(s)?.first().expect("split yields one")),
                    None => None,
                };
                Command::Explain(ExplainConfig {
                    scenario: a.scenario,
                    backend: backend(a.server)?,
                    operation: a.operation,
                    scale,
                    timeout_s: a.timeout,
                })
            }
        };
        Ok(Config {
            command,
            quiet: self.quiet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_accept_scientific_notation() {
        assert_eq!(
            parse_scales("1e4,100_000, 5").unwrap(),
            vec![10_000, 100_000, 5]
        );
        assert!(parse_scales("0").is_err());
        assert!(parse_scales("ten").is_err());
    }

    fn bench(args: &[&str]) -> Result<BenchRequest, Error> {
        let argv = std::iter::once("focus_repo")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        parse_bench_args(argv, PathBuf::from("s.toml"))
    }

    fn bench_run(args: &[&str]) -> RunConfig {
        match bench(args) {
            Ok(BenchRequest::Run(config, _)) => *config,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn libtest_list_prints_nothing_with_or_without_terse() {
        for args in [
            &["--list"][..],
            &["--list", "--format", "terse"],
            &["--list", "--format=terse", "--ignored"],
            &["--format", "pretty", "--list", "-Z", "unstable-options"],
            &["--list", "--bench", "--test-threads", "1", "add_track"],
        ] {
            assert!(
                matches!(bench(args), Ok(BenchRequest::List)),
                "{args:?}: {:?}",
                bench(args)
            );
        }
    }

    #[test]
    fn libtest_flags_are_ignored_and_filters_kept() {
        let c = bench_run(&[
            "--test-threads",
            "4",
            "--nocapture",
            "--no-capture",
            "--exact",
            "--ignored",
            "--include-ignored",
            "--show-output",
            "--color=never",
            "--skip",
            "x",
            "--report-time",
            "-Zunstable-options",
            "--shuffle-seed",
            "7",
            "--bench",
            "add_track",
            "delete",
        ]);
        assert_eq!(c.implementations.only, ["add_track", "delete"]);
        assert_eq!(c.overrides.rounds, None, "--bench measures fully");
        assert_eq!(c.scenarios, [PathBuf::from("s.toml")]);
    }

    #[test]
    fn without_bench_a_smoke_run() {
        let c = bench_run(&["--test-threads=1"]);
        assert_eq!(c.overrides.rounds, Some(2));
        assert_eq!(c.overrides.iterations, Some(2));
        assert_eq!(bench_run(&["--rounds", "5"]).overrides.rounds, Some(5));
    }

    #[test]
    fn format_values_querygate_does_not_know_are_libtest_s() {
        for (args, want) in [
            (&["--format", "terse"][..], OutputFormat::Table),
            (&["--format=pretty"], OutputFormat::Table),
            (&["--format", "json"], OutputFormat::Json),
            (
                &["--format", "markdown", "--format", "terse"],
                OutputFormat::Markdown,
            ),
        ] {
            assert_eq!(bench_run(args).format, want, "{args:?}");
        }
        let e = bench(&["--format", "yaml"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with("invalid value 'yaml'"), "{e}");
    }

    #[test]
    fn unknown_flags_are_usage_errors_and_help_is_printed() {
        let e = bench(&["--rounds-typo", "3"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--rounds-typo"), "{e}");
        match bench(&["--help"]) {
            Ok(BenchRequest::Print(text)) => {
                assert!(text.contains("--baseline"), "{text}");
                assert!(
                    !text.contains("--test-threads"),
                    "libtest's flags are hidden: {text}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
