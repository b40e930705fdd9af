//! The commands: what `querygate run`, `check` and `explain` do, start to finish.
//!
//! Output goes to a writer passed in; the exit code is returned as data.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{Connection, Row};
use tokio::signal::unix::{signal, SignalKind};

use crate::analysis::scenario_report;
use crate::config::{
    BackendConfig, CheckConfig, Command, CompareConfig, Config, ExplainConfig, MergeConfig,
    OutputFormat, Outputs, Overrides, Placement, ReportConfig, RunConfig,
};
use crate::error::{Error, Located, Result};
use crate::measured::ScenarioRun;
use crate::pipeline::{run_scenario, Depth, ServerAccess};
use crate::progress::Progress;
use crate::provision::{self, Server};
use crate::report::{self, Environment, Machine, Report, RunStatus, Tool, SCHEMA_VERSION};
use crate::scenario::{self, Scenario};
use crate::seed::{self, Names};

/// Runs one command; returns the exit code.
pub async fn run(config: Config, out: &mut dyn Write) -> Result<u8> {
    match config.command {
        Command::Check(c) => check(&c, out),
        Command::Run(c) => run_command(&c, config.quiet, out).await,
        Command::Explain(c) => explain_command(&c, config.quiet, out).await,
        Command::Report(c) => report_command(&c, out),
        Command::Compare(c) => compare_command(&c, out),
        Command::Merge(c) => merge_command(&c, out),
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&report::schema::results_schema())
                .expect("schema serializes");
            writeln!(out, "{schema}").ok();
            Ok(0)
        }
    }
}

/// `querygate compare`: the gate, offline, from two results files.
fn compare_command(c: &CompareConfig, out: &mut dyn Write) -> Result<u8> {
    let base = report::write::read_report(&c.base).map_err(|e| Error::Usage(format!("{e:#}")))?;
    let mut new = report::write::read_report(&c.new).map_err(|e| Error::Usage(format!("{e:#}")))?;
    check_outputs(&c.outputs)?;
    check_fingerprints(&base, &c.base, &new.scenarios, c.allow_mismatch)?;
    check_server(&base, &c.base, &new.environment, c.allow_mismatch)?;
    refuse_nothing_in_common(&base, &c.base, &new.scenarios)?;
    new.fail_on = c.fail_on;
    apply_gate(&mut new, &base, &c.base);
    crate::gate::decide(&mut new);
    emit(&new, Some(c.format), &c.outputs, out)?;
    Ok(new.exit_code)
}

/// Refuses a gate that would compare nothing: it would pass on no evidence.
fn refuse_nothing_in_common(
    base: &Report,
    base_path: &Path,
    new: &[crate::report::ScenarioReport],
) -> Result<()> {
    match crate::gate::nothing_in_common(base, new) {
        Some(what) => Err(Error::Usage(format!(
            "the baseline {} has {what}\nA gate needs the same scenario, scale and operation names on both sides: \
             pass the baseline of this scenario, or create one with --save-baseline",
            base_path.display()
        ))),
        None => Ok(()),
    }
}

/// Refuses a baseline that measured other inputs, unless allowed (then it is noted).
fn check_fingerprints(
    base: &Report,
    base_path: &Path,
    new: &[crate::report::ScenarioReport],
    allow: bool,
) -> Result<()> {
    let mismatches = crate::gate::fingerprint_mismatches(base, new);
    if !mismatches.is_empty() && !allow {
        return Err(Error::Usage(format!(
            "the baseline {} measured different inputs:\n  {}\nA gate against it would compare different experiments. \
             Re-create the baseline (--save-baseline … --overwrite-baseline), or pass --allow-fingerprint-mismatch",
            base_path.display(),
            mismatches.join("\n  ")
        )));
    }
    Ok(())
}

/// Refuses a baseline made on another PostgreSQL major version, unless allowed (then noted).
fn check_server(base: &Report, base_path: &Path, env: &Environment, allow: bool) -> Result<()> {
    match crate::gate::server_mismatch(&base.environment, env) {
        Some(why) if !allow => Err(Error::Usage(format!(
            "{why} ({}): plans and costs differ between major versions, so the gate would report \
             the upgrade as the change. Compare with a baseline made on this major version \
             (docs/ci.md, \"Baselines\"), or pass --allow-fingerprint-mismatch",
            base_path.display()
        ))),
        _ => Ok(()),
    }
}

/// Puts the gate's result into the report (`gate::decide` then folds it into the exit code).
fn apply_gate(new: &mut Report, base: &Report, base_path: &Path) {
    let mut gate = crate::gate::compare(base, &base_path.display().to_string(), new);
    gate.notes.extend(
        crate::gate::change_notes(base, &new.scenarios)
            .into_iter()
            .map(|m| format!("the change under test: {m}")),
    );
    gate.notes.extend(
        crate::gate::fingerprint_mismatches(base, &new.scenarios)
            .into_iter()
            .chain(crate::gate::server_mismatch(
                &base.environment,
                &new.environment,
            ))
            .map(|m| format!("allowed: {m}")),
    );
    new.gate = Some(gate);
}

/// `querygate merge`: results files pooled into one; exit code of the merged report.
fn merge_command(c: &MergeConfig, out: &mut dyn Write) -> Result<u8> {
    let mut inputs = Vec::new();
    for path in &c.inputs {
        let report =
            report::write::read_report(path).map_err(|e| Error::Usage(format!("{e:#}")))?;
        inputs.push(crate::merge::Input {
            name: path.display().to_string(),
            report,
        });
    }
    let merged =
        crate::merge::merge(&inputs).map_err(|e| Error::Usage(format!("cannot merge: {e}")))?;
    report::write::write_report(&c.out, &merged)?;
    emit(&merged, c.format, &c.outputs, out)?;
    Ok(merged.exit_code)
}

/// `querygate report`: re-render a results file. The exit code is the one the run decided.
fn report_command(c: &ReportConfig, out: &mut dyn Write) -> Result<u8> {
    let report =
        report::write::read_report(&c.input).map_err(|e| Error::Usage(format!("{e:#}")))?;
    check_outputs(&c.outputs)?;
    let any_file =
        c.outputs.markdown.is_some() || c.outputs.html.is_some() || c.outputs.junit.is_some();
    let format = c.format.or(if any_file {
        None
    } else {
        Some(OutputFormat::Table)
    });
    emit(&report, format, &c.outputs, out)?;
    Ok(report.exit_code)
}

/// Prints the report on stdout in `format` and writes the requested output files.
fn emit(
    report: &Report,
    format: Option<OutputFormat>,
    outputs: &Outputs,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        Some(OutputFormat::Table) => {
            report::table::render(out, report).context("cannot write to stdout")?
        }
        Some(OutputFormat::Json) => out
            .write_all(report::write::to_json(report).as_bytes())
            .context("cannot write to stdout")?,
        Some(OutputFormat::Markdown) => {
            report::markdown::render(out, report).context("cannot write to stdout")?
        }
        None => {}
    }
    type Render = fn(&mut Vec<u8>, &Report) -> std::io::Result<()>;
    let files: [(&Option<PathBuf>, Render); 3] = [
        (&outputs.markdown, |w, r| report::markdown::render(w, r)),
        (&outputs.html, |w, r| report::html::render(w, r)),
        (&outputs.junit, |w, r| report::junit::render(w, r)),
    ];
    for (path, render) in files {
        if let Some(path) = path {
            let mut buf = Vec::new();
            render(&mut buf, report).context("rendering failed")?;
            report::write::write_atomic(path, &buf)?;
        }
    }
    Ok(())
}

/// `querygate check`: every file, every error, no server.
fn check(c: &CheckConfig, out: &mut dyn Write) -> Result<u8> {
    let mut errors = Vec::new();
    for path in &c.scenarios {
        match scenario::load(path, None) {
            Ok(s) if !s.single_side_errors().is_empty() => errors.extend(s.single_side_errors()),
            Ok(s) => {
                let claims: usize = s.operations.iter().map(|o| o.claims.len()).sum::<usize>()
                    + s.load.as_ref().map_or(0, |l| l.claims.len());
                writeln!(
                    out,
                    "ok: {} — scenario `{}`, {} operations, {} claims",
                    path.display(),
                    s.name,
                    s.operations.len(),
                    claims
                )
                .ok();
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(Error::Scenarios(errors))
    }
}

fn load_all(paths: &[PathBuf], scales: &[Option<i64>], o: &Overrides) -> Result<Vec<Scenario>> {
    let mut loaded = Vec::new();
    let mut errors: Vec<Located> = Vec::new();
    for path in paths {
        for scale in scales {
            match scenario::load(path, *scale) {
                Ok(mut s) => {
                    if let Some(r) = o.rounds {
                        s.run.rounds = r;
                    }
                    if let Some(i) = o.iterations {
                        s.run.iterations = i;
                    }
                    if let Some(w) = o.warmup {
                        s.run.warmup = w;
                    }
                    crate::load::apply_overrides(&mut s, &o.load)?;
                    loaded.push(s);
                }
                Err(e) => {
                    if !errors.contains(&e) {
                        errors.push(e);
                    }
                }
            }
        }
    }
    match errors.len() {
        0 => Ok(loaded),
        1 => Err(Error::Scenario(errors.remove(0))),
        _ => Err(Error::Scenarios(errors)),
    }
}

/// SIGINT or SIGTERM, whichever comes first. Created before any work so that the default
/// "die at once" disposition never applies while querygate owns a server.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

/// Starts the server, racing signals: an interrupted start still cleans up (the server is
/// dropped, which stops it).
async fn start_server(
    cfg: &BackendConfig,
    scenarios: &[Scenario],
    signals: &mut Signals,
    progress: &mut Progress,
) -> Result<Box<dyn Server>> {
    let mut settings = provision::pinned_settings();
    for s in scenarios {
        settings.extend(s.settings.clone());
    }
    provision::keep_server_time(&mut settings);
    tokio::select! {
        s = provision::start(cfg, settings, progress) => s.map_err(|e| refused_setting(scenarios, e)),
        sig = signals.recv() => Err(Error::Interrupted(sig)),
    }
}

/// A server that would not start because of a scenario's `[server] settings` value (its log
/// names the parameter: "invalid value for parameter", "unrecognized configuration
/// parameter", "outside the valid range for parameter") is a scenario error, located at the
/// setting; anything else stays an infrastructure error.
fn refused_setting(scenarios: &[Scenario], e: Error) -> Error {
    let Error::Infra(inner) = &e else { return e };
    let log = format!("{inner:#}");
    for s in scenarios {
        for (name, span) in &s.setting_spans {
            let needle = format!("parameter \"{name}\"");
            let Some(line) = log.lines().find(|l| l.contains(&needle)) else {
                continue;
            };
            let said = line.split_once(":  ").map_or(line, |(_, m)| m).trim();
            return Error::Scenario(Located::at(
                &s.path,
                &s.text,
                span.start,
                format!(
                    "[server] settings: the server refused `{name} = {}` at start: {said}. Fix the value (see `SHOW {name}` for its unit and range) or remove the setting",
                    s.settings[name]
                ),
            ));
        }
    }
    e
}

async fn run_command(c: &RunConfig, quiet: bool, out: &mut dyn Write) -> Result<u8> {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    let (scenarios, baseline) = preflight(c)?;
    let mut signals = Signals::new()?;
    let mut progress = Progress::new(quiet);
    for s in &scenarios {
        if let Some(w) = scale_warning(s) {
            progress.step(&w);
        }
    }
    let mut backend = c.backend.clone();
    if backend.placement != Placement::Free
        && scenarios
            .iter()
            .any(|s| s.load.as_ref().is_some_and(|l| l.enabled))
    {
        // Concurrent clients need the server's processes on every CPU (docs/load.md).
        progress.step("load mode: server and clients not pinned (placement free)");
        backend.placement = Placement::Free;
    }
    let server = start_server(&backend, &scenarios, &mut signals, &mut progress).await?;
    let placement = pin_client(&*server, backend.placement, &mut progress);
    let out_path = c.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "results/run-{}.json",
            started_at.format("%Y%m%dT%H%M%SZ")
        ))
    });
    let env = match environment(&*server).await {
        Ok(env) => Environment {
            placement: Some(placement),
            ..env
        },
        Err(e) => {
            server.shutdown().await.ok();
            return Err(e);
        }
    };
    if let (Some(base), Some(path)) = (&baseline, c.baseline.compare_with.as_deref()) {
        // Known once the server answers; refused before anything is seeded or measured.
        if let Err(e) = check_server(base, path, &env, c.baseline.allow_mismatch) {
            server.shutdown().await.ok();
            return Err(e);
        }
    }
    let rec = Recording {
        env,
        started_at,
        t0,
        out_path,
        fail_on: c.fail_on,
    };
    let tag = run_tag();
    let names: Vec<Names> = (0..scenarios.len()).map(|k| Names::new(&tag, k)).collect();
    let mut runs: Vec<ScenarioRun> = Vec::new();

    let outcome = {
        let work = run_all(
            &*server,
            &scenarios,
            baseline.as_ref(),
            &names,
            &mut runs,
            &rec,
            &mut progress,
        );
        tokio::select! {
            r = work => r,
            sig = signals.recv() => Err(Error::Interrupted(sig)),
            _ = tokio::time::sleep(Duration::from_secs(c.timeout_s)) => Err(Error::RunTimeout(c.timeout_s)),
        }
    };
    progress.finish();
    cleanup(server, &names, &mut progress).await;
    finish(
        c,
        &mut runs,
        outcome,
        baseline.as_ref(),
        &rec,
        &mut progress,
        out,
    )
}

/// Everything that can be refused before a server starts: the scenarios, the baseline (read,
/// and its fingerprints matched against the scenarios), and an existing `--save-baseline`.
fn preflight(c: &RunConfig) -> Result<(Vec<Scenario>, Option<Report>)> {
    let mut scenarios = load_all(&c.scenarios, &c.scales, &c.overrides)?;
    let mut errors: Vec<Located> = Vec::new();
    for s in &mut scenarios {
        c.implementations.attach(s)?;
        for e in s.single_side_errors() {
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
    }
    match errors.len() {
        0 => {}
        1 => return Err(Error::Scenario(errors.remove(0))),
        _ => return Err(Error::Scenarios(errors)),
    }
    match &c.out {
        Some(p) => check_output("--out", p, false)?,
        None => check_output("--out", Path::new("results/run.json"), true)?,
    }
    check_outputs(&c.outputs)?;
    if let Some(p) = &c.baseline.save_to {
        check_output("--save-baseline", p, false)?;
    }
    let baseline = match &c.baseline.compare_with {
        Some(p) => Some(
            report::write::read_report(p)
                .map_err(|e| Error::Usage(format!("--baseline: {e:#}")))?,
        ),
        None => None,
    };
    if let Some(p) = &c.baseline.save_to {
        if p.exists() && !c.baseline.overwrite {
            return Err(Error::Usage(format!(
                "--save-baseline: {} exists; baselines change only on request: add --overwrite-baseline",
                p.display()
            )));
        }
    }
    if let Some(base) = &baseline {
        // Fingerprints are known before measuring: refuse early rather than after the run.
        let planned: Vec<_> = scenarios
            .iter()
            .map(|s| scenario_report(&ScenarioRun::new(s.clone())))
            .collect();
        check_fingerprints(
            base,
            c.baseline.compare_with.as_deref().expect("baseline path"),
            &planned,
            c.baseline.allow_mismatch,
        )?;
        refuse_nothing_in_common(
            base,
            c.baseline.compare_with.as_deref().expect("baseline path"),
            &planned,
        )?;
    }
    Ok((scenarios, baseline))
}

/// An output file the user named is refused (exit 2) before any work when it cannot be
/// written: the results would otherwise be measured and then lost.
fn check_output(flag: &str, path: &Path, create_missing: bool) -> Result<()> {
    report::write::check_writable(path, create_missing)
        .map_err(|why| Error::Usage(format!("{flag}: {why}")))
}

fn check_outputs(o: &Outputs) -> Result<()> {
    for (flag, path) in [
        ("--markdown", &o.markdown),
        ("--html", &o.html),
        ("--junit", &o.junit),
    ] {
        if let Some(p) = path {
            check_output(flag, p, false)?;
        }
    }
    Ok(())
}

/// Above this scale, a seed that inserts `:scale` rows takes long enough to deserve a warning.
const LARGE_SCALE: i64 = 50_000_000;

/// A warning with an estimate for an enormous scale, before any seeding: at roughly a million
/// generated rows a second (an `INSERT … SELECT … generate_series` on a modest machine), the
/// rows `:scale` asks for take this long. An order of magnitude, said as one.
fn scale_warning(s: &Scenario) -> Option<String> {
    if s.scale <= LARGE_SCALE {
        return None;
    }
    let hours = s.scale as f64 / 1.0e6 / 3600.0;
    let time = if hours >= 48.0 {
        format!("{:.0} days", hours / 24.0)
    } else if hours >= 1.0 {
        format!("{hours:.1} hours")
    } else {
        format!("{:.0} minutes", hours * 60.0)
    };
    Some(format!(
        "warning: scenario `{}` has scale {} ({:.1e} rows for each seed statement that uses :scale): \
         at about a million rows a second that is on the order of {time} of seeding, and as many rows of \
         disk, before anything is measured. Lower `scale` (or --scale) unless this is intended; Ctrl-C \
         stops and cleans up",
        s.name, s.scale, s.scale as f64
    ))
}

/// Where and when a run is recorded: what every (partial) results file is built with.
struct Recording {
    env: Environment,
    started_at: chrono::DateTime<chrono::Utc>,
    t0: Instant,
    out_path: PathBuf,
    fail_on: report::FailOn,
}

impl Recording {
    /// The report of `runs` so far, its verdict decided without a gate (`finish` applies it).
    fn report(&self, runs: &[ScenarioRun], error: Option<&Error>) -> Report {
        let mut r = build_report(runs, &self.env, self.started_at, self.t0, error);
        r.fail_on = self.fail_on;
        crate::gate::decide(&mut r);
        r
    }
}

/// The server as the pipeline uses it.
fn access(server: &dyn Server) -> ServerAccess {
    ServerAccess {
        admin: server.admin_options(),
        owns: server.owns_server(),
        processes: server.process_namespace(),
    }
}

/// Runs every scenario in turn, writing the results file after each one.
async fn run_all(
    server: &dyn Server,
    scenarios: &[Scenario],
    baseline: Option<&Report>,
    names: &[Names],
    runs: &mut Vec<ScenarioRun>,
    rec: &Recording,
    progress: &mut Progress,
) -> Result<()> {
    let access = access(server);
    for (k, s) in scenarios.iter().enumerate() {
        runs.push(ScenarioRun::new(s.clone()));
        let pinned = server.pinned_cpu().is_some();
        let run = runs.last_mut().expect("just pushed");
        run.scenario.run.reconnect.get_or_insert(!pinned);
        let base = baseline.and_then(|b| {
            b.scenarios
                .iter()
                .find(|x| x.name == s.name && x.scale == s.scale)
        });
        let r = run_scenario(&access, &names[k], run, Depth::Measure, base, progress).await;
        if let Err(e) = &r {
            run.error = Some(format!("{e:#}"));
        }
        r?;
        // Written after each scenario, so a later failure loses nothing (as hyperfine does).
        report::write::write_report(&rec.out_path, &rec.report(runs, None))?;
    }
    Ok(())
}

/// Drops the scratch databases (on a server querygate did not start) and shuts the server
/// down. Runs whatever happened before; a second Ctrl-C does not cut it short.
async fn cleanup(server: Box<dyn Server>, names: &[Names], progress: &mut Progress) {
    if !server.owns_server() {
        let admin = server.admin_options();
        for n in names {
            if let Err(e) = seed::drop_databases(&admin, n).await {
                progress.step(&format!("warning: {e:#}"));
            }
        }
    }
    if let Err(e) = server.shutdown().await {
        progress.step(&format!("warning: cleanup failed: {e:#}"));
    }
}

/// The final report: the outcome recorded, the gate applied, the results file and baseline
/// written, the outputs rendered; the exit code.
fn finish(
    c: &RunConfig,
    runs: &mut [ScenarioRun],
    outcome: Result<()>,
    baseline: Option<&Report>,
    rec: &Recording,
    progress: &mut Progress,
    out: &mut dyn Write,
) -> Result<u8> {
    if let (Err(e), Some(last)) = (&outcome, runs.last_mut()) {
        if last.error.is_none() {
            last.error = Some(e.to_string());
        }
    }
    let mut report = rec.report(runs, outcome.as_ref().err());
    if let (Some(base), Some(path)) = (baseline, &c.baseline.compare_with) {
        apply_gate(&mut report, base, path);
    }
    crate::gate::decide(&mut report);
    report::write::write_report(&rec.out_path, &report)?;
    if let Some(p) = &c.baseline.save_to {
        if report.status == RunStatus::Complete {
            report::write::write_report(p, &report)?;
            progress.step(&format!("baseline saved: {}", p.display()));
        } else {
            progress.step(&format!(
                "warning: the run is incomplete; baseline {} not written",
                p.display()
            ));
        }
    }
    emit(&report, Some(c.format), &c.outputs, out)?;
    progress.step(&format!("results: {}", rec.out_path.display()));
    outcome.map(|()| report.exit_code)
}

async fn explain_command(c: &ExplainConfig, quiet: bool, out: &mut dyn Write) -> Result<u8> {
    let mut s = scenario::load(&c.scenario, c.scale)?;
    if let Some(name) = &c.operation {
        if !s.operations.iter().any(|o| &o.name == name) {
            let known: Vec<&str> = s.operations.iter().map(|o| o.name.as_str()).collect();
            return Err(Error::Usage(format!(
                "no operation `{name}` in {} (it has: {})",
                c.scenario.display(),
                known.join(", ")
            )));
        }
        s.operations.retain(|o| &o.name == name);
    }
    let mut signals = Signals::new()?;
    let mut progress = Progress::new(quiet);
    let server = start_server(
        &c.backend,
        std::slice::from_ref(&s),
        &mut signals,
        &mut progress,
    )
    .await?;
    let access = access(server.as_ref());
    let names = Names::new(&run_tag(), 0);
    let mut run = ScenarioRun::new(s);
    let outcome = tokio::select! {
        r = run_scenario(&access, &names, &mut run, Depth::ExplainOnly, None, &mut progress) => r,
        sig = signals.recv() => Err(Error::Interrupted(sig)),
        _ = tokio::time::sleep(Duration::from_secs(c.timeout_s)) => Err(Error::RunTimeout(c.timeout_s)),
    };
    if !server.owns_server() {
        seed::drop_databases(&access.admin, &names).await.ok();
    }
    server.shutdown().await.ok();
    outcome?;
    for (op, plans) in run.scenario.operations.iter().zip(&run.plans) {
        let Some(p) = plans else { continue };
        writeln!(
            out,
            "== {} (params: {})",
            op.name,
            p.params
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .ok();
        for (side, plans) in [("before", &p.before), ("after", &p.after)] {
            for sp in plans {
                writeln!(out, "-- {side}: {}", sp.sql).ok();
                writeln!(
                    out,
                    "   signature: {}\n   shared blocks {} hit + {} read, temp {}, rows {}, execution {:.3} ms",
                    sp.facts.signature, sp.facts.shared_hit_blocks, sp.facts.shared_read_blocks, sp.facts.temp_blocks, sp.rows_returned, sp.facts.execution_ms
                )
                .ok();
                writeln!(out, "{}", crate::explain::signature::plan_tree(&sp.plan)).ok();
            }
        }
        let (_, change) = crate::analysis::plan_change(&p.before, &p.after);
        writeln!(out, "   plan change: {change}\n").ok();
    }
    Ok(0)
}

/// Pins the measuring thread (a current-thread runtime: every measured execution is driven
/// from this thread) beside a pinned server: on the server's CPU (`shared`) or on another one
/// (`split`). Returns the placement as the results file records it.
fn pin_client(server: &dyn Server, placement: Placement, progress: &mut Progress) -> String {
    let Some(server_cpu) = server.pinned_cpu() else {
        return match server.info().kind {
            crate::config::BackendKind::Local => "free (no pinning)".into(),
            _ => "not controlled (server not started by querygate on this machine)".into(),
        };
    };
    let (cpu, how) = match placement {
        Placement::Split => match provision::other_cpu(server_cpu) {
            Some(c) => (c, "split"),
            None => (server_cpu, "shared: only one CPU available"),
        },
        _ => (server_cpu, "shared"),
    };
    match provision::pin_current_thread(cpu) {
        Ok(()) => {
            progress.step(&format!(
                "server pinned to CPU {server_cpu}, measuring thread to CPU {cpu} ({how}; --placement to change)"
            ));
            format!("server CPU {server_cpu}, client CPU {cpu} ({how})")
        }
        Err(e) => {
            progress.step(&format!(
                "warning: cannot pin the measuring thread to CPU {cpu}: {e}"
            ));
            format!("server CPU {server_cpu}, client free (pinning failed: {e})")
        }
    }
}

/// A short unique tag for scratch database names: `<pid>_<random>`.
pub(crate) fn run_tag() -> String {
    format!("{}_{:04x}", std::process::id(), rand::random::<u16>())
}

fn build_report(
    runs: &[ScenarioRun],
    env: &Environment,
    started_at: chrono::DateTime<chrono::Utc>,
    t0: Instant,
    error: Option<&Error>,
) -> Report {
    let scenarios: Vec<_> = runs.iter().map(scenario_report).collect();
    let mut environment = env.clone();
    for n in runs.iter().flat_map(|r| &r.settings_not_applied) {
        if !environment.settings_not_applied.contains(n) {
            environment.settings_not_applied.push(n.clone());
        }
    }
    let warnings = environment
        .settings_not_applied
        .iter()
        .map(|n| report::Warning {
            id: "setting-not-applied".into(),
            operation: None,
            message: format!(
                "{} = {} was not applied on querygate's databases: {}. The run measured without it{}",
                n.name,
                n.value,
                n.reason,
                if n.name == "track_io_timing" {
                    " (plans carry no I/O timings)"
                } else {
                    ""
                }
            ),
        })
        .collect();
    let sweeps = crate::analysis::scaling::sweeps(&scenarios);
    let incomplete = error.is_some() || scenarios.iter().any(|s| s.status == RunStatus::Incomplete);
    // An error decides the exit code; otherwise `gate::decide` does, from claims and gate.
    let exit_code = error.map_or(0, Error::exit_code);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "querygate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        status: if incomplete {
            RunStatus::Incomplete
        } else {
            RunStatus::Complete
        },
        error: error.map(|e| format!("{e:#}")),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration_ms: t0.elapsed().as_secs_f64() * 1000.0,
        environment,
        scenarios,
        exit_code,
        fail_on: report::FailOn::default(),
        failures: vec![],
        warnings,
        gate: None,
        sweeps,
    }
}

async fn environment(server: &dyn Server) -> Result<Environment> {
    let mut conn = seed::connect(&server.admin_options()).await?;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await
        .context("cannot read the server version")?;
    let num: String = sqlx::query_scalar("SELECT current_setting('server_version_num')")
        .fetch_one(&mut conn)
        .await
        .context("cannot read the server version")?;
    let names: Vec<String> = provision::RECORDED_SETTINGS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = sqlx::query(
        "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY($1) ORDER BY name",
    )
    .bind(&names)
    .fetch_all(&mut conn)
    .await
    .context("cannot read server settings")?;
    conn.close().await.ok();
    let info = server.info();
    Ok(Environment {
        backend: format!("{:?}", info.kind).to_lowercase(),
        backend_reason: info.reason.clone(),
        server_address: info.address.clone(),
        image: info.image.clone(),
        image_id: info.image_id.clone(),
        bindir: info.bindir.clone(),
        pinned_cpu: server.pinned_cpu(),
        transport: Some(server.transport()),
        placement: None,
        server_version: version,
        server_version_num: num.parse().unwrap_or(0),
        settings: rows
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect(),
        settings_not_applied: vec![],
        machine: machine(),
        git_commit: git_commit(Path::new(".")),
    })
}

fn machine() -> Machine {
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let memory_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb / 1024);
    Machine {
        hostname: crate::pg::hostname(),
        os,
        arch: std::env::consts::ARCH.to_string(),
        cpus: std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|list| count_cpu_list(&list))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        memory_mib,
    }
}

/// The number of CPUs in a kernel CPU list such as `0-3,6` (`/sys/devices/system/cpu/online`):
/// the machine's, not the ones this thread may run on (querygate pins its measuring thread, and
/// `available_parallelism` would then say 1).
fn count_cpu_list(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        n += match part.split_once('-') {
            Some((a, b)) => {
                b.parse::<usize>()
                    .ok()?
                    .checked_sub(a.parse::<usize>().ok()?)?
                    + 1
            }
            None => part.parse::<usize>().map(|_| 1).ok()?,
        };
    }
    (n > 0).then_some(n)
}

fn git_commit(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::count_cpu_list;

    #[test]
    fn cpu_lists_count_every_range() {
        assert_eq!(count_cpu_list("0-1\n"), Some(2));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(count_cpu_list(""), None);
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("x"), None);
    }
}
