//! The data flow for one scenario on a server:
//! databases → prepared statements → warm-up → EXPLAIN pass → interleaved rounds.
//!
//! Everything measured goes into a [`ScenarioRun`] as soon as it exists, so that an error,
//! a timeout or Ctrl-C (which drop this future) still leaves a partial, reportable run.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};

use crate::error::{Error, Located, Result};
use crate::explain::explain_side;
use crate::measure::{
    self, mix, CpuClock, Measurable, MeasureError, OpSamples, ParamSource, Reconnect, ServerClock,
    ServerTiming, SideConn, Target, WireConn, CALIBRATION_SQL,
};
use crate::measured::{Catalog, OpPlans, ScenarioRun};
use crate::progress::Progress;
use crate::report::SettingNotApplied;
use crate::scenario::{Params, RunSettings, Scenario, Side, Value};
use crate::seed::{self, Names};

/// Name of the calibration statement's measurement.
pub const CALIBRATION_NAME: &str = "_calibration";

/// What to do after the EXPLAIN pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    ExplainOnly,
    Measure,
}

/// The server as a scenario's run uses it.
#[derive(Clone)]
pub struct ServerAccess {
    /// The maintenance connection (`Server::admin_options`).
    pub admin: PgConnectOptions,
    /// querygate started the server and chose its settings.
    pub owns: bool,
    /// A host process in the server's pid namespace (`Server::process_namespace`): the
    /// backends' CPU time is read through it.
    pub processes: Option<u32>,
}

/// Runs one scenario into `run`. The scratch databases named by `names` are created here and
/// must be dropped by the caller whatever happens.
pub async fn run_scenario(
    server: &ServerAccess,
    names: &Names,
    run: &mut ScenarioRun,
    depth: Depth,
    baseline: Option<&crate::report::ScenarioReport>,
    progress: &mut Progress,
) -> Result<()> {
    let (admin, owns_server) = (&server.admin, server.owns);
    let scenario = run.scenario.clone();
    let label = format!("{} (scale {})", scenario.name, scenario.scale);
    let settings = database_settings(admin, &scenario, owns_server).await?;
    for n in &settings.not_applied {
        progress.step(&format!(
            "{label}: warning: setting {} = {} not applied: {}; measuring without it",
            n.name, n.value, n.reason
        ));
    }
    run.settings_not_applied = settings.not_applied;
    let settings = settings.apply;

    progress.step(&format!("{label}: creating databases"));
    let prepared = seed::prepare(admin, &scenario, names, &settings, |step| {
        progress.step(&format!("{label}: {step}"))
    })
    .await?;
    run.prepared = Some(prepared);

    let mut sides = Sides::connect(admin, &scenario, names).await?;
    run.catalogs = Some(read_catalogs(&mut sides).await?);
    let (mut ops, calibration) = prepare_operations(&scenario, &mut sides).await?;
    sides
        .open_measuring(ops.iter().chain([&calibration]))
        .map_err(|e| measure_error(&scenario, e))?;

    progress.step(&format!("{label}: warming up"));
    let times = measure::warm_up(sides.conns(), &ops, &scenario.run)
        .await
        .map_err(|e| measure_error(&scenario, e))?;
    if depth == Depth::Measure {
        plan_rounds(&scenario, &label, &mut ops, &times, run, progress);
    }

    progress.step(&format!("{label}: EXPLAIN pass"));
    explain_pass(&scenario, &mut sides, &ops, run).await?;

    if depth == Depth::Measure && scenario.load.as_ref().is_some_and(|l| l.enabled) {
        let options = sides.options.clone();
        sides.close().await;
        return load_pass(run, ops, options, &label, baseline, progress).await;
    }
    if depth == Depth::Measure {
        ops.push(calibration);
        sides.server = server_timing(server, names).await;
        let samples = &mut run.samples;
        let measured = sides
            .rounds(&scenario, &label, &ops, &scenario.run, samples, progress)
            .await;
        run.server_time_unavailable = sides.server.unavailable.clone();
        measured?;
        if let Some(base) = baseline {
            let confirmed =
                confirmation_pass(&scenario, &label, &mut sides, ops, run, base, progress).await;
            run.server_time_unavailable = sides.server.unavailable.clone();
            confirmed?;
        }
    }
    sides.close().await;
    Ok(())
}

/// From this share of the measuring time on, one operation dominates the run: it takes twice
/// as long as all the others together.
const DOMINANT_SHARE: f64 = 2.0 / 3.0;

/// Plans the executions per round from the warm-up times (both sides within the round budget),
/// says how long the rounds should take, and warns when one operation takes most of that time.
fn plan_rounds(
    scenario: &Scenario,
    label: &str,
    ops: &mut [Measurable],
    times: &[measure::WarmTime],
    run: &mut ScenarioRun,
    progress: &mut Progress,
) {
    let settings = &scenario.run;
    let planned = measure::planned_iterations(times, settings);
    for (op, n) in ops.iter_mut().zip(&planned) {
        op.per_round = *n;
    }
    let Some(estimate) = measure::estimate(times, &planned, settings) else {
        return;
    };
    progress.step(&format!(
        "{label}: measuring should take about {} ({} rounds of about {})",
        human(estimate.total),
        settings.rounds,
        human(estimate.total / settings.rounds.max(1) as u32)
    ));
    if ops.len() < 2 || estimate.total.is_zero() {
        return;
    }
    let (i, longest) = estimate
        .per_operation
        .iter()
        .enumerate()
        .max_by_key(|(_, d)| **d)
        .expect("at least two operations");
    let share = longest.as_secs_f64() / estimate.total.as_secs_f64();
    if share < DOMINANT_SHARE {
        return;
    }
    let [b, a] = times[i].map(|t| t.unwrap_or_default());
    let (side, slowest) = if b >= a { ("before", b) } else { ("after", a) };
    let capped = if planned[i] < settings.iterations {
        format!(
            ", capped from {} by round_budget_ms = {}",
            settings.iterations, settings.round_budget_ms
        )
    } else {
        String::new()
    };
    let message = format!(
        "`{}` takes {:.0}% of the measuring time (about {} of {}): {:.1} ms per execution on the {side} side, \
         {} executions per side and round{capped}. To shorten the run, lower round_budget_ms or iterations, \
         or measure `{}` in a scenario of its own",
        ops[i].name,
        share * 100.0,
        human(*longest),
        human(estimate.total),
        slowest.as_secs_f64() * 1000.0,
        planned[i],
        ops[i].name
    );
    progress.step(&format!("{label}: warning: {message}"));
    run.warnings.push(crate::report::Warning {
        id: "dominant-operation".into(),
        operation: Some(ops[i].name.clone()),
        message,
    });
}

/// A duration for people: `850 ms`, `42 s`, `3 min 20 s`, `2 h 5 min`.
fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{} ms", d.as_millis()),
        1..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// A drawn value that does not fit its placeholder's type is the scenario's fault: located at
/// the generator (or the sample query) that produced it.
fn bind_error(
    scenario: &Scenario,
    op: &crate::scenario::Operation,
    b: &measure::exec::BindError,
) -> Error {
    let at = match &op.params {
        crate::scenario::Params::Sample { span, .. } => span.start,
        _ => op
            .param_spans
            .get(b.param)
            .map_or(op.span.start, |s| s.start),
    };
    let fix = match &op.params {
        crate::scenario::Params::Sample { .. } => "make the sample query return values of that type",
        _ => "narrow the generator's range to the column's type, or cast the placeholder in SQL (e.g. `$1::bigint`)",
    };
    Error::Scenario(Located::at(
        &scenario.path,
        &scenario.text,
        at,
        format!("operation `{}`: {}; {fix}", op.name, b.message),
    ))
}

/// Runs the scenario's load (phased, or the migration under load) into `run`, in place of the
/// single-client rounds. `ops` are the scenario's operations, prepared; `options` the before
/// and after databases with the clients' session settings. With a baseline, operations whose
/// phased results look worse are confirmed on a fresh phased run.
async fn load_pass(
    run: &mut ScenarioRun,
    ops: Vec<Measurable>,
    options: [PgConnectOptions; 2],
    label: &str,
    baseline: Option<&crate::report::ScenarioReport>,
    progress: &mut Progress,
) -> Result<()> {
    let s = run.scenario.clone();
    let settings = s.load.clone().expect("a scenario with [load] enabled");
    let mut index = Vec::new();
    let mut load_ops = Vec::new();
    for (i, m) in ops.into_iter().enumerate() {
        let weight = s.operations[i].weight;
        if weight > 0 {
            index.push(i);
            load_ops.push(crate::load::LoadOp {
                name: m.name,
                sides: [m.before, m.after],
                params: m.params,
                weight,
            });
        }
    }
    let seed = s.run.seed;
    let out = run
        .load
        .insert(crate::load::LoadRun::new(settings.clone(), index.clone()));
    if settings.under_load {
        let live = crate::load::Live {
            traffic: options[0].clone(),
            migration: &s.migration.up,
        };
        return crate::load::run_live(live, load_ops.clone(), seed, label, progress, out).await;
    }
    run.scenario.run.rounds = u64::from(settings.phases / 2);
    let measured = crate::load::run_phased(
        options.clone(),
        load_ops.clone(),
        seed,
        label,
        progress,
        out,
    )
    .await;
    run.samples = crate::analysis::load::phase_samples(out, s.operations.len());
    measured?;
    let Some(base) = baseline else {
        return Ok(());
    };
    let provisional = crate::analysis::scenario_report(run);
    let suspects = crate::gate::suspects(base, &provisional);
    if suspects.is_empty() {
        return Ok(());
    }
    progress.step(&format!(
        "{label}: possible regression under load in {}; confirming on fresh phases",
        suspects.join(", ")
    ));
    run.confirm_ops = index
        .iter()
        .copied()
        .filter(|&i| suspects.contains(&s.operations[i].name))
        .collect();
    // Twice the phases of the same length: the confirmation interval is the stricter one.
    let mut twice = settings;
    twice.phases *= 2;
    twice.duration_ms *= 2;
    let fresh = run
        .confirm_load
        .insert(crate::load::LoadRun::new(twice, index));
    let confirm_seed = mix(seed, u64::MAX - 1, 0, 0xC0);
    let confirm_label = format!("{label} (confirmation)");
    let confirmed = crate::load::run_phased(
        options,
        load_ops,
        confirm_seed,
        &confirm_label,
        progress,
        fresh,
    )
    .await;
    let samples = crate::analysis::load::phase_samples(fresh, s.operations.len());
    run.confirm_samples = run
        .confirm_ops
        .iter()
        .map(|&i| samples[i].clone())
        .collect();
    confirmed
}

/// The two sqlx connections (before, after: catalogs, preparing, EXPLAIN, parameter samples,
/// sides written in Rust), the two measuring connections (`measure::wire`: the timed SQL
/// executions), and, when the scenario reconnects every round, where to reconnect.
struct Sides {
    before: PgConnection,
    after: PgConnection,
    /// Opened once the statements are prepared (`open_measuring`).
    measuring: Option<[WireConn; 2]>,
    targets: [Target; 2],
    /// New connections every round (`run.reconnect`), to `options` and `targets`.
    reconnect: bool,
    /// Server time (pg_stat_statements) read around each side's block while measuring.
    server: ServerTiming,
    /// The options of both sides (the load clients connect with them).
    options: [PgConnectOptions; 2],
}

impl Sides {
    async fn connect(admin: &PgConnectOptions, scenario: &Scenario, names: &Names) -> Result<Self> {
        let options = |db: &str| {
            admin
                .clone()
                .database(db)
                .options([(
                    "statement_timeout",
                    scenario.run.statement_timeout_ms.to_string(),
                )])
                .application_name("querygate")
                .statement_cache_capacity(1024)
        };
        let side_options = [options(&names.before), options(&names.after)];
        // A reply later than the statement timeout plus a minute is a dead connection.
        let read_timeout = Duration::from_millis(scenario.run.statement_timeout_ms + 60_000);
        let targets = side_options
            .each_ref()
            .map(|o| Target::from_options(o, read_timeout));
        Ok(Sides {
            before: seed::connect(&side_options[0]).await?,
            after: seed::connect(&side_options[1]).await?,
            measuring: None,
            targets,
            reconnect: scenario.run.reconnect.unwrap_or(true),
            server: ServerTiming::default(),
            options: side_options,
        })
    }

    /// Opens the measuring connections, with the SQL statements of `ops` prepared on them.
    fn open_measuring<'a>(
        &mut self,
        ops: impl IntoIterator<Item = &'a Measurable> + Clone,
    ) -> std::result::Result<(), MeasureError> {
        let [b, a] = &self.targets;
        self.measuring = Some([
            measure::connect_measuring(b, ops.clone(), Side::Before)?,
            measure::connect_measuring(a, ops, Side::After)?,
        ]);
        Ok(())
    }

    /// Both sides' connections for the timed loop.
    fn conns(&mut self) -> [SideConn<'_>; 2] {
        side_conns(&mut self.before, &mut self.after, &mut self.measuring)
    }

    /// Closes every connection.
    async fn close(mut self) {
        if let Some(clock) = self.server.clock.take() {
            clock.close().await;
        }
        for w in self.measuring.take().into_iter().flatten() {
            w.close();
        }
        self.before.close().await.ok();
        self.after.close().await.ok();
    }

    /// Interleaved rounds of `ops` under `settings` into `out`, with progress per round.
    async fn rounds(
        &mut self,
        scenario: &Scenario,
        label: &str,
        ops: &[Measurable],
        settings: &RunSettings,
        out: &mut Vec<OpSamples>,
        progress: &mut Progress,
    ) -> Result<()> {
        let total = settings.rounds;
        progress.start_rounds(label, total);
        let result = measure::rounds(
            side_conns(&mut self.before, &mut self.after, &mut self.measuring),
            self.reconnect.then_some(Reconnect {
                sqlx: &self.options,
                wire: &self.targets,
            }),
            ops,
            settings,
            out,
            &mut self.server,
            |done| progress.round_done(done, total),
        )
        .await;
        progress.finish();
        result.map_err(|e| measure_error(scenario, e))
    }
}

/// Both sides' connections for the timed loop: the sqlx connection and the measuring one.
fn side_conns<'a>(
    before: &'a mut PgConnection,
    after: &'a mut PgConnection,
    measuring: &'a mut Option<[WireConn; 2]>,
) -> [SideConn<'a>; 2] {
    let [wb, wa] = measuring
        .as_mut()
        .expect("the measuring connections are opened before anything is timed");
    [
        SideConn {
            sqlx: before,
            wire: wb,
        },
        SideConn {
            sqlx: after,
            wire: wa,
        },
    ]
}

/// Every operation prepared on both sides with its parameter source, and the calibration
/// statement (measured last in every round).
async fn prepare_operations(
    scenario: &Scenario,
    sides: &mut Sides,
) -> Result<(Vec<Measurable>, Measurable)> {
    let Sides { before, after, .. } = sides;
    let mut ops = Vec::new();
    for (i, op) in scenario.operations.iter().enumerate() {
        let params = param_source(scenario, i, before).await?;
        let b = measure::prepare_side(before, scenario, op, &op.before, "before").await?;
        let a = measure::prepare_side(after, scenario, op, &op.after, "after").await?;
        ops.push(Measurable {
            name: op.name.clone(),
            before: b,
            after: a,
            params,
            per_round: scenario.run.iterations,
            only_after: !scenario.compares(),
        });
    }
    let calibration = Measurable {
        name: CALIBRATION_NAME.into(),
        before: measure::calibration_side(before).await?,
        after: measure::calibration_side(after).await?,
        params: ParamSource::None,
        per_round: scenario.run.iterations,
        only_after: !scenario.compares(),
    };
    Ok((ops, calibration))
}

/// One EXPLAIN of every operation on each side, with the same drawn parameters, into `run.plans`.
async fn explain_pass(
    scenario: &Scenario,
    sides: &mut Sides,
    ops: &[Measurable],
    run: &mut ScenarioRun,
) -> Result<()> {
    for (i, op) in ops.iter().enumerate() {
        let values = op.params.draw(&mut ChaCha8Rng::seed_from_u64(mix(
            scenario.run.seed,
            0,
            i as u64,
            0xE,
        )));
        let b = if op.only_after {
            vec![]
        } else {
            explain_side(&mut sides.before, &op.before, &values)
                .await
                .with_context(|| format!("EXPLAIN of operation `{}` (before) failed", op.name))?
        };
        let a = explain_side(&mut sides.after, &op.after, &values)
            .await
            .with_context(|| format!("EXPLAIN of operation `{}` (after) failed", op.name))?;
        run.plans.push(Some(OpPlans {
            before: b,
            after: a,
            params: values,
        }));
    }
    Ok(())
}

/// Screens the run against the baseline and re-measures the suspected latency regressions on
/// fresh rounds (twice as many, new parameter seed) before the gate decides. `ops` ends with
/// the calibration, which is re-measured too.
async fn confirmation_pass(
    scenario: &Scenario,
    label: &str,
    sides: &mut Sides,
    mut ops: Vec<Measurable>,
    run: &mut ScenarioRun,
    base: &crate::report::ScenarioReport,
    progress: &mut Progress,
) -> Result<()> {
    let provisional = crate::analysis::scenario_report(run);
    let suspects = crate::gate::suspects(base, &provisional);
    if suspects.is_empty() {
        return Ok(());
    }
    progress.step(&format!(
        "{label}: possible latency regression in {}; confirming on fresh rounds",
        suspects.join(", ")
    ));
    run.confirm_ops = scenario
        .operations
        .iter()
        .enumerate()
        .filter(|(_, o)| suspects.contains(&o.name))
        .map(|(i, _)| i)
        .collect();
    let calibration = ops.pop().expect("calibration is last");
    let mut subset: Vec<Measurable> = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        if run.confirm_ops.contains(&i) {
            subset.push(op);
        }
    }
    subset.push(calibration);
    let mut confirm_run = scenario.run.clone();
    confirm_run.seed = mix(scenario.run.seed, u64::MAX - 1, 0, 0xC0);
    // Twice the rounds: the confirmation interval is the stricter one (99.5%), and
    // only the suspects are re-measured, so the extra rounds are cheap.
    confirm_run.rounds = scenario.run.rounds * 2;
    let confirm_label = format!("{label} (confirmation)");
    let samples = &mut run.confirm_samples;
    sides
        .rounds(
            scenario,
            &confirm_label,
            &subset,
            &confirm_run,
            samples,
            progress,
        )
        .await
}

/// The server clock for a scenario's rounds: `pg_stat_statements` read on the maintenance
/// database. On a server querygate started, the extension is created there; on another
/// server it is used when present. When it is not available, the reason is kept (and
/// reported as a warning): server time is never a reason to fail a run. The backends' CPU time
/// is read where this host sees the server's processes.
async fn server_timing(server: &ServerAccess, names: &Names) -> ServerTiming {
    let dbs = [names.before.clone(), names.after.clone()];
    let (clock, unavailable) = match ServerClock::open(&server.admin, dbs, server.owns).await {
        Ok(clock) => (Some(clock), None),
        Err(why) => (None, Some(why)),
    };
    ServerTiming {
        clock,
        cpu: server.processes.and_then(CpuClock::new),
        unavailable,
    }
}

/// What to set on the scratch databases, and what the role could not set.
pub(crate) struct DatabaseSettings {
    pub apply: BTreeMap<String, String>,
    /// Wanted but not permitted to this role (a server querygate did not start): the run goes
    /// on without them, and says so.
    pub not_applied: Vec<SettingNotApplied>,
}

/// Settings set on the scratch databases: the scenario's session-level settings, and on a
/// server querygate did not start, the pinned session settings too — those the role may set.
/// A superuser-only setting (`track_io_timing`) needs a superuser, or on PostgreSQL 15+ a
/// `GRANT SET ON PARAMETER`; without either it is left out and reported, not fatal.
pub(crate) async fn database_settings(
    admin: &PgConnectOptions,
    scenario: &Scenario,
    owns_server: bool,
) -> Result<DatabaseSettings> {
    let mut wanted = BTreeMap::new();
    if !owns_server {
        let pinned = crate::provision::pinned_settings();
        for k in crate::provision::SESSION_SETTINGS {
            wanted.insert(k.to_string(), pinned[*k].clone());
        }
    }
    wanted.extend(scenario.settings.clone());
    let mut out = DatabaseSettings {
        apply: BTreeMap::new(),
        not_applied: vec![],
    };
    if wanted.is_empty() {
        return Ok(out);
    }
    let mut conn = seed::connect(admin).await?;
    let names: Vec<String> = wanted.keys().cloned().collect();
    let (role, superuser, version): (String, String, String) = sqlx::query_as(
        "SELECT current_user::text, current_setting('is_superuser'), current_setting('server_version_num')",
    )
    .fetch_one(&mut conn)
    .await
    .context("cannot read the role's privileges")?;
    let version: u32 = version.parse().unwrap_or(0);
    // has_parameter_privilege exists from PostgreSQL 15 on (GRANT SET ON PARAMETER).
    let granted = if superuser == "on" {
        "true"
    } else if version >= 150_000 {
        "has_parameter_privilege(name, 'SET')"
    } else {
        "false"
    };
    let rows = sqlx::query(&format!(
        "SELECT name, context, context <> 'superuser' OR {granted} FROM pg_settings WHERE name = ANY($1)"
    ))
    .bind(&names)
    .fetch_all(&mut conn)
    .await
    .context("cannot read pg_settings")?;
    conn.close().await.ok();
    let context: BTreeMap<String, (String, bool)> = rows
        .iter()
        .map(|r| (r.get::<String, _>(0), (r.get(1), r.get(2))))
        .collect();
    for (k, v) in wanted {
        match context.get(&k).map(|(c, may)| (c.as_str(), *may)) {
            None => {
                let at = scenario.text.find(k.as_str()).unwrap_or(0);
                return Err(Error::Scenario(Located::at(
                    &scenario.path,
                    &scenario.text,
                    at,
                    format!("`{k}` is not a PostgreSQL setting on this server"),
                )));
            }
            Some(("user", _)) | Some(("superuser", true)) => {
                out.apply.insert(k, v);
            }
            Some(("superuser", false)) => {
                let grant = if version >= 150_000 {
                    format!("a superuser can `GRANT SET ON PARAMETER {k} TO {role}`")
                } else {
                    format!("PostgreSQL {version} has no GRANT SET ON PARAMETER: only a superuser can set it")
                };
                out.not_applied.push(SettingNotApplied {
                    reason: format!(
                        "role `{role}` is not a superuser and may not set this superuser-only setting ({grant})"
                    ),
                    name: k,
                    value: v,
                });
            }
            // Server-level settings were given to the server at start (local/docker) and
            // cannot be set per database.
            Some(_) => {}
        }
    }
    Ok(out)
}

/// The index and table names of both databases after the migration: a claim naming one that
/// is absent is refuted by the analysis (with a did-you-mean), and the run goes on so that the
/// plans and the gate show what changed.
async fn read_catalogs(sides: &mut Sides) -> Result<[Catalog; 2]> {
    let mut out = [Catalog::default(), Catalog::default()];
    for (conn, catalog) in [&mut sides.before, &mut sides.after]
        .into_iter()
        .zip(&mut out)
    {
        let names = |relkinds: &'static str| {
            format!(
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = ANY('{{{relkinds}}}'::\"char\"[]) \
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1"
            )
        };
        catalog.indexes = sqlx::query_scalar(&names("i,I"))
            .fetch_all(&mut *conn)
            .await
            .context("cannot read the index names")?;
        catalog.tables = sqlx::query_scalar(&names("r,p,m,v,f"))
            .fetch_all(&mut *conn)
            .await
            .context("cannot read the table names")?;
    }
    Ok(out)
}

/// Parameters for operation `i`: generators as compiled, or rows sampled from the seeded data.
async fn param_source(
    scenario: &Scenario,
    i: usize,
    conn: &mut PgConnection,
) -> Result<ParamSource> {
    let op = &scenario.operations[i];
    match &op.params {
        Params::None => Ok(ParamSource::None),
        Params::Generated(exprs) => Ok(ParamSource::Generated(exprs.clone())),
        Params::Sample { sql, span } => {
            // The simple protocol returns text for every type: values bind by the placeholder's type.
            let rows = sqlx::raw_sql(sql)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| {
                    let msg = crate::pg::pg_error_parts(&e).map_or(e.to_string(), |p| p.0);
                    Error::Scenario(Located::at(
                        &scenario.path,
                        &scenario.text,
                        span.start,
                        format!(
                            "operation `{}`: the params sample query failed: {msg}",
                            op.name
                        ),
                    ))
                })?;
            let used = op
                .before
                .statements
                .iter()
                .chain(&op.after.statements)
                .map(|s| s.placeholders)
                .max()
                .unwrap_or(0);
            let located = |m: String| {
                Error::Scenario(Located::at(&scenario.path, &scenario.text, span.start, m))
            };
            if rows.is_empty() {
                return Err(located(format!(
                    "operation `{}`: the params sample query returned no rows",
                    op.name
                )));
            }
            let values: Vec<Vec<Value>> = rows
                .iter()
                .map(|r| {
                    (0..r.len())
                        .map(|c| match r.try_get_raw(c) {
                            Ok(v) if !sqlx::ValueRef::is_null(&v) => {
                                Value::Text(v.as_str().unwrap_or_default().to_string())
                            }
                            _ => Value::Null,
                        })
                        .collect()
                })
                .collect();
            let columns = values[0].len();
            if columns != used {
                return Err(located(format!(
                    "operation `{}`: the params sample query returns {columns} column(s) but the statements use {used} placeholder(s)",
                    op.name
                )));
            }
            Ok(ParamSource::Sampled(values))
        }
    }
}

fn measure_error(scenario: &Scenario, e: MeasureError) -> Error {
    let op = scenario.operations.iter().find(|o| o.name == e.operation);
    if let (Some(op), Some(b)) = (op, &e.error.bind) {
        return bind_error(scenario, op, b);
    }
    let side_sql = op.map(|o| match e.side {
        Side::Before => &o.before,
        Side::After => &o.after,
    });
    let calibration = e.operation == CALIBRATION_NAME;
    let statement = match side_sql.and_then(|s| s.code.as_ref()) {
        Some(code) => format!("(in the Rust function {})", code.name),
        None => side_sql
            .and_then(|s| s.statements.get(e.error.statement))
            .map_or_else(
                || {
                    if calibration {
                        CALIBRATION_SQL
                    } else {
                        "(transaction control)"
                    }
                    .to_string()
                },
                |s| s.sql.clone(),
            ),
    };
    let detail = match e.error.error.sqlstate().as_deref() {
        Some("57014") => format!(
            "{}\n  the statement ran longer than run.statement_timeout_ms = {} ms",
            e.error.error.describe(),
            scenario.run.statement_timeout_ms
        ),
        _ => e.error.error.describe(),
    };
    // The calibration is querygate's own; its internal name means nothing to the user.
    let what = if calibration {
        "the round-trip calibration (SELECT 1)".to_string()
    } else {
        format!("operation `{}`", e.operation)
    };
    Error::Infra(anyhow::anyhow!(
        "{what} ({}) failed while measuring: {detail}\n  statement: {statement}",
        e.side
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure of the calibration names it in the user's words, not by its internal name.
    #[test]
    fn calibration_failure_has_no_internal_name() {
        let text = "name = \"x\"\n[data]\n[[operation]]\nname = \"q\"\nsql = \"SELECT 1\"\n";
        let s = crate::scenario::parse(
            std::path::Path::new("x.toml"),
            text,
            None,
            &crate::scenario::FsReader,
        )
        .unwrap();
        let e = MeasureError {
            operation: CALIBRATION_NAME.into(),
            side: Side::After,
            error: measure::ExecError {
                statement: 0,
                error: sqlx::Error::PoolTimedOut.into(),
                bind: None,
            },
        };
        let msg = measure_error(&s, e).to_string();
        assert!(!msg.contains(CALIBRATION_NAME), "{msg}");
        assert!(
            msg.starts_with("the round-trip calibration (SELECT 1) (after) failed"),
            "{msg}"
        );
        assert!(msg.contains("statement: SELECT 1"), "{msg}");
    }
}
