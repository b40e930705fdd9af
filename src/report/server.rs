//! Text every renderer shows about server time and the round trip, written once.

use super::{Interval, ScenarioReport, SideReport};

/// `12.3× (10.1–14.2)`, or `–` when not measured.
pub fn speedup_cell(i: Option<&Interval>) -> String {
    i.map_or("–".into(), |i| {
        format!("{:.2}× ({:.2}–{:.2})", i.estimate, i.low, i.high)
    })
}

/// `8.1 µs (round trip 74%)`, or `–` when server time was not measured.
pub fn server_cell(side: &SideReport) -> String {
    side.server.as_ref().map_or("–".into(), |s| {
        format!(
            "{} µs (round trip {:.0}%)",
            fmt_small_us(s.mean_us),
            s.round_trip_share * 100.0
        )
    })
}

/// One line on what the server time is and what the round trip costs in this scenario.
pub fn round_trip_line(s: &ScenarioReport) -> Option<String> {
    let source = s.server_time.as_deref()?;
    let c = s.calibration.as_ref()?;
    let rt = c.round_trip_us?;
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let (client, server) = (median(&c.round_p50_us)?, median(&c.server_round_us)?);
    Some(format!(
        "server time from {source}; round trip (`{}`): client {} µs, server {} µs, so about {} µs of every execution is transport and client",
        c.sql,
        fmt_small_us(client),
        fmt_small_us(server),
        fmt_small_us(rt)
    ))
}

/// µs with one decimal below 100, none above.
pub fn fmt_small_us(us: f64) -> String {
    if us < 100.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}
