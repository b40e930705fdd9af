//! `querygate merge` on real runs (local backend): shards merged hold exactly what one run
//! holds, the same scenario measured twice pools its histograms exactly, `report` and
//! `compare` read the merged file, and files of another server version are refused.

mod common;

use std::path::Path;

use common::*;
use querygate::report::histogram::decode_histogram;
use querygate::report::{write::read_report, Report};

fn measure(out: &Path, scale: &str) {
    let o = run(&[
        "run",
        "tests/data/scenarios/ok/tiny.toml",
        "--backend",
        "local",
        "--scale",
        scale,
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
        "-q",
    ]);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "exit {:?}\n{}",
        o.status.code(),
        stderr(&o)
    );
}

fn merge(inputs: &[&Path], out: &Path) -> std::process::Output {
    let mut args = vec!["merge".to_string()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), out.display().to_string()]);
    querygate().args(&args).output().unwrap()
}

/// (scenario, scale) → per operation and side: the histogram's count and the latency it gives.
fn contents(r: &Report) -> Vec<(String, i64, String, u64, u64, f64, f64)> {
    let mut v = Vec::new();
    for s in &r.scenarios {
        for o in &s.operations {
            let n = |h: &str| decode_histogram(h).map_or(0, |h| h.len());
            v.push((
                s.name.clone(),
                s.scale,
                o.name.clone(),
                n(&o.before.histogram_ns_v2z),
                n(&o.after.histogram_ns_v2z),
                o.before.latency.p99_us,
                o.after.latency.p99_us,
            ));
        }
    }
    v.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    v
}

fn write(path: &Path, r: &Report) {
    querygate::report::write::write_report(path, r).unwrap();
}

#[test]
fn shards_merge_into_what_one_run_holds() {
    let dir = tmpdir();
    let p = |n: &str| dir.path().join(n);

    // One run of a two-scale sweep, and the same two scales run as two shards.
    measure(&p("one.json"), "2000,4000");
    measure(&p("shard_a.json"), "2000");
    measure(&p("shard_b.json"), "4000");
    let one = read_report(&p("one.json")).unwrap();
    assert_eq!(one.scenarios.len(), 2);

    let o = merge(&[&p("shard_a.json"), &p("shard_b.json")], &p("shards.json"));
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let shards = read_report(&p("shards.json")).unwrap();
    let set = |r: &Report| {
        let mut v: Vec<(String, i64)> = r
            .scenarios
            .iter()
            .map(|s| (s.name.clone(), s.scale))
            .collect();
        v.sort();
        v
    };
    assert_eq!(set(&shards), set(&one), "the scenario set of one run");
    assert_eq!(
        shards.sweeps.len(),
        1,
        "two scales of one scenario are a sweep"
    );
    let (a, b) = (
        read_report(&p("shard_a.json")).unwrap(),
        read_report(&p("shard_b.json")).unwrap(),
    );
    let mut ab = contents(&a);
    ab.extend(contents(&b));
    ab.sort_by(|x, y| (&x.0, x.1, &x.2).cmp(&(&y.0, y.1, &y.2)));
    assert_eq!(
        contents(&shards),
        ab,
        "disjoint shards are carried over unchanged"
    );

    // The one run cut into its two scenarios and merged back: exactly the one run.
    let mut first = one.clone();
    first.scenarios.truncate(1);
    let mut second = one.clone();
    second.scenarios.remove(0);
    write(&p("cut_1.json"), &first);
    write(&p("cut_2.json"), &second);
    let o = merge(&[&p("cut_1.json"), &p("cut_2.json")], &p("rejoined.json"));
    assert_eq!(
        o.status.code(),
        Some(one.exit_code as i32),
        "{}",
        stderr(&o)
    );
    let rejoined = read_report(&p("rejoined.json")).unwrap();
    assert_eq!(contents(&rejoined), contents(&one));
    assert_eq!(
        serde_json::to_value(&rejoined.sweeps).unwrap(),
        serde_json::to_value(&one.sweeps).unwrap()
    );
    assert_eq!(rejoined.failures, one.failures);

    // The same scenario and scale twice: histograms add exactly, rounds pool.
    let o = merge(&[&p("shard_a.json"), &p("shard_a.json")], &p("pooled.json"));
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let pooled = read_report(&p("pooled.json")).unwrap();
    for (x, y) in contents(&a).iter().zip(contents(&pooled)) {
        assert_eq!((2 * x.3, 2 * x.4), (y.3, y.4), "{}", x.2);
    }
    let s = &pooled.scenarios[0];
    assert_eq!(
        s.run.rounds_completed,
        2 * a.scenarios[0].run.rounds_completed
    );
    for op in &s.operations {
        if let Some(i) = op.speedup {
            assert_eq!(i.rounds as u64, s.run.rounds_completed);
        }
    }

    // report and compare read the merged file.
    let o = run(&[
        "report",
        p("shards.json").to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert_eq!(
        o.status.code(),
        Some(shards.exit_code as i32),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("1 scenario at 2 scales"),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        "compare",
        p("one.json").to_str().unwrap(),
        p("shards.json").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let gated: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(gated["gate"]["operations"].as_array().unwrap().len(), 6);

    // Another server version is refused, with both files named.
    let mut other = b.clone();
    other.environment.server_version_num += 10_000;
    write(&p("other_version.json"), &other);
    let o = merge(
        &[&p("shard_a.json"), &p("other_version.json")],
        &p("refused.json"),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("server versions") && e.contains("other_version.json"),
        "{e}"
    );
    assert!(!p("refused.json").exists());
}
