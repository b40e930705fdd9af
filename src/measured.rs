//! The run state: everything measured for one scenario so far, as the pipeline fills it and
//! the analysis reads it. It sits below both, so neither imports the other.

use crate::explain::StatementPlan;
use crate::measure::OpSamples;
use crate::report::Warning;
use crate::scenario::{Scenario, Value};
use crate::seed::Prepared;

/// Plans and results of one operation from the EXPLAIN pass.
#[derive(Debug, Clone)]
pub struct OpPlans {
    pub before: Vec<StatementPlan>,
    pub after: Vec<StatementPlan>,
    /// The parameter values used.
    pub params: Vec<Value>,
}

/// The relation names of one scratch database after the migration, for claims that name an
/// index or a table.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub indexes: Vec<String>,
    pub tables: Vec<String>,
}

/// Everything measured for one scenario so far.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub scenario: Scenario,
    pub prepared: Option<Prepared>,
    /// The before and after databases' relation names, once they are prepared.
    pub catalogs: Option<[Catalog; 2]>,
    /// Settings wanted on the scratch databases that the role may not set (a server
    /// querygate did not start).
    pub settings_not_applied: Vec<crate::report::SettingNotApplied>,
    pub plans: Vec<Option<OpPlans>>,
    /// One entry per operation, then one for the calibration statement.
    pub samples: Vec<OpSamples>,
    /// Operations re-measured to confirm a suspected regression (indices into operations) …
    pub confirm_ops: Vec<usize>,
    /// … and their fresh samples, in the same order, then the calibration's.
    pub confirm_samples: Vec<OpSamples>,
    pub warnings: Vec<Warning>,
    pub error: Option<String>,
    /// Why server time (pg_stat_statements) is missing; `None` when it was measured.
    pub server_time_unavailable: Option<String>,
    /// The load run (`[load]` enabled), which replaces the single-client rounds.
    pub load: Option<crate::load::LoadRun>,
    /// The fresh phased load run that confirms suspected regressions of a load run.
    pub confirm_load: Option<crate::load::LoadRun>,
}

impl ScenarioRun {
    pub fn new(scenario: Scenario) -> Self {
        ScenarioRun {
            scenario,
            prepared: None,
            catalogs: None,
            settings_not_applied: vec![],
            plans: vec![],
            samples: vec![],
            confirm_ops: vec![],
            confirm_samples: vec![],
            warnings: vec![],
            error: None,
            server_time_unavailable: None,
            load: None,
            confirm_load: None,
        }
    }
}
