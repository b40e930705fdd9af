//! Plan signatures: the shape of a plan that should not change by accident.
//!
//! A signature keeps node types, join types, and for every scan the relation and index; it
//! drops costs, row estimates, timings and anything else that moves between runs. Two plans
//! with the same signature do the same kind of work; a changed signature is a hard signal.

use serde_json::Value as Json;

use crate::report::text::node_label;

/// Facts read off one EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanFacts {
    /// One line, e.g. `Limit -> Index Scan using i on t`; children in `[a; b]`.
    pub signature: String,
    /// Every index the plan reads.
    pub indexes: Vec<String>,
    /// (relation, scan node type with its index) for every node that reads a relation.
    pub scans: Vec<(String, String)>,
    pub shared_hit_blocks: u64,
    pub shared_read_blocks: u64,
    pub temp_blocks: u64,
    pub rows: u64,
    pub planning_ms: f64,
    pub execution_ms: f64,
    /// Time spent in triggers (foreign-key cascades and checks), from the plan's `Triggers`.
    pub trigger_ms: f64,
}

/// Reads a plan document: the `[ { "Plan": …, … } ]` array EXPLAIN returns.
pub fn facts(doc: &Json) -> Option<PlanFacts> {
    let top = doc.as_array().and_then(|a| a.first()).unwrap_or(doc);
    let plan = top.get("Plan")?;
    let mut f = PlanFacts {
        signature: node_signature(plan) + &trigger_signature(top),
        ..Default::default()
    };
    walk(plan, &mut f);
    let num = |v: &Json, k: &str| v.get(k).and_then(Json::as_u64).unwrap_or(0);
    f.shared_hit_blocks = num(plan, "Shared Hit Blocks");
    f.shared_read_blocks = num(plan, "Shared Read Blocks");
    f.temp_blocks = num(plan, "Temp Read Blocks") + num(plan, "Temp Written Blocks");
    f.rows = num(plan, "Actual Rows") * num(plan, "Actual Loops").max(1);
    f.planning_ms = top
        .get("Planning Time")
        .and_then(Json::as_f64)
        .unwrap_or(0.0);
    f.execution_ms = top
        .get("Execution Time")
        .and_then(Json::as_f64)
        .unwrap_or(0.0);
    f.trigger_ms = top
        .get("Triggers")
        .and_then(Json::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t.get("Time").and_then(Json::as_f64))
                .sum()
        })
        .unwrap_or(0.0);
    Some(f)
}

/// The triggers the statement fired, as ` + triggers [name on relation; …]`, sorted; empty
/// when none fired. A replaced or dropped trigger is then a plan change the gate sees. A
/// foreign-key trigger is named by its constraint: its own name carries an OID that differs
/// between databases.
fn trigger_signature(top: &Json) -> String {
    let Some(ts) = top.get("Triggers").and_then(Json::as_array) else {
        return String::new();
    };
    let mut names: Vec<String> = ts
        .iter()
        .map(|t| {
            let s = |k: &str| t.get(k).and_then(Json::as_str).unwrap_or("?");
            let name = match t.get("Constraint Name").and_then(Json::as_str) {
                Some(c) => c,
                None => {
                    let n = s("Trigger Name");
                    match n.strip_prefix("RI_ConstraintTrigger_") {
                        Some(rest) => {
                            &n[..n.len() - rest.len() + rest.find('_').unwrap_or(rest.len())]
                        }
                        None => n,
                    }
                }
            };
            format!("{name} on {}", s("Relation"))
        })
        .collect();
    if names.is_empty() {
        return String::new();
    }
    names.sort();
    names.dedup();
    format!(" + triggers [{}]", names.join("; "))
}

fn walk(node: &Json, f: &mut PlanFacts) {
    if let Some(i) = node.get("Index Name").and_then(Json::as_str) {
        if !f.indexes.iter().any(|x| x == i) {
            f.indexes.push(i.to_string());
        }
    }
    if let (Some(r), Some(t)) = (
        node.get("Relation Name").and_then(Json::as_str),
        node.get("Node Type").and_then(Json::as_str),
    ) {
        let how = match node.get("Index Name").and_then(Json::as_str) {
            Some(i) => format!("{t} using {i}"),
            None => t.to_string(),
        };
        f.scans.push((r.to_string(), how));
    }
    for c in children(node) {
        walk(c, f);
    }
}

fn children(node: &Json) -> impl Iterator<Item = &Json> {
    node.get("Plans")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
}

/// Whether a relation-reading node reads a system catalog (`pg_catalog`, `information_schema`,
/// `pg_toast`; by name when the plan is not VERBOSE and carries no schema).
fn is_catalog(node: &Json) -> bool {
    match node.get("Schema").and_then(Json::as_str) {
        Some(schema) => matches!(schema, "pg_catalog" | "information_schema" | "pg_toast"),
        None => node
            .get("Relation Name")
            .and_then(Json::as_str)
            .is_some_and(|r| r.starts_with("pg_")),
    }
}

/// The signature of the subtree rooted at `node`.
///
/// A subtree that reads only system catalogs (`pg_stat_user_tables`, `information_schema`
/// views, `pg_class`) is one `(catalog lookup)`: how the planner joins catalogs follows the
/// catalogs' own statistics, which differ between databases and runs, and is no change the
/// user made; a hard gate signal on it would be a false alarm.
pub fn node_signature(node: &Json) -> String {
    subtree(node).signature
}

/// A subtree's signature and what it reads, built in one walk.
struct Subtree {
    signature: String,
    reads_catalog: bool,
    reads_user: bool,
}

fn subtree(node: &Json) -> Subtree {
    let kids: Vec<Subtree> = children(node).map(subtree).collect();
    // What this node reads itself: (a catalog, a user's relation).
    let (own_catalog, own_user) = match node.get("Relation Name") {
        Some(_) if is_catalog(node) => (true, false),
        Some(_) => (false, true),
        None => (false, false),
    };
    let reads_catalog = own_catalog || kids.iter().any(|k| k.reads_catalog);
    let reads_user = own_user || kids.iter().any(|k| k.reads_user);
    let signature = if reads_catalog && !reads_user {
        let lookup = "(catalog lookup)";
        match node
            .get("Parent Relationship")
            .and_then(Json::as_str)
            .filter(|p| *p == "SubPlan" || *p == "InitPlan")
        {
            Some(p) => format!("{p}: {lookup}"),
            None => lookup.to_string(),
        }
    } else {
        let label = node_label(node);
        match kids.as_slice() {
            [] => label,
            [only] => format!("{label} -> {}", only.signature),
            _ => {
                let sigs: Vec<&str> = kids.iter().map(|k| k.signature.as_str()).collect();
                format!("{label} [{}]", sigs.join("; "))
            }
        }
    };
    Subtree {
        signature,
        reads_catalog,
        reads_user,
    }
}

/// The plan as an indented tree, one node a line with actual rows, loops and buffers.
pub fn plan_tree(doc: &Json) -> String {
    let top = doc.as_array().and_then(|a| a.first()).unwrap_or(doc);
    let mut out = String::new();
    if let Some(plan) = top.get("Plan") {
        tree_lines(plan, 0, &mut out);
    }
    out.trim_end().to_string()
}

fn tree_lines(node: &Json, depth: usize, out: &mut String) {
    let n = |k: &str| node.get(k).and_then(Json::as_f64).unwrap_or(0.0);
    out.push_str(&format!(
        "   {}{}{}  (rows {} × {} loops, {:.3} ms, shared hit {} read {})\n",
        "  ".repeat(depth),
        if depth > 0 { "-> " } else { "" },
        node_label(node),
        n("Actual Rows"),
        n("Actual Loops"),
        n("Actual Total Time"),
        n("Shared Hit Blocks"),
        n("Shared Read Blocks"),
    ));
    for c in children(node) {
        tree_lines(c, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Json {
        json!([{
            "Plan": {
                "Node Type": "Limit", "Actual Rows": 1, "Actual Loops": 1,
                "Shared Hit Blocks": 4, "Shared Read Blocks": 1, "Temp Read Blocks": 0, "Temp Written Blocks": 0,
                "Plans": [{
                    "Node Type": "Nested Loop", "Join Type": "Inner", "Parent Relationship": "Outer",
                    "Plans": [
                        {"Node Type": "Index Scan", "Index Name": "idx_a", "Relation Name": "a", "Parent Relationship": "Outer"},
                        {"Node Type": "Bitmap Heap Scan", "Relation Name": "b", "Parent Relationship": "Inner",
                         "Plans": [{"Node Type": "Bitmap Index Scan", "Index Name": "idx_b", "Parent Relationship": "Outer"}]}
                    ]
                }]
            },
            "Planning Time": 0.1, "Execution Time": 0.5,
            "Triggers": [{"Trigger Name": "RI_ConstraintTrigger_a_1", "Time": 2.5, "Calls": 1}]
        }])
    }

    #[test]
    fn signature_keeps_shape_and_drops_numbers() {
        let f = facts(&doc()).unwrap();
        assert_eq!(
            f.signature,
            "Limit -> Nested Loop (Inner) [Index Scan using idx_a on a; Bitmap Heap Scan on b -> Bitmap Index Scan using idx_b] + triggers [RI_ConstraintTrigger_a on ?]"
        );
        assert_eq!(f.indexes, vec!["idx_a", "idx_b"]);
        assert_eq!(
            f.scans,
            vec![
                ("a".into(), "Index Scan using idx_a".into()),
                ("b".into(), "Bitmap Heap Scan".into())
            ]
        );
        assert_eq!(
            (f.shared_hit_blocks, f.shared_read_blocks, f.rows),
            (4, 1, 1)
        );
        assert_eq!((f.execution_ms, f.trigger_ms), (0.5, 2.5));
    }

    /// A catalog subquery's join strategy follows the catalogs' statistics: not the user's
    /// change, so not part of the signature; the user's scans around it are.
    #[test]
    fn catalog_subtrees_are_one_lookup() {
        let with_catalog_join = |join: &str, inner: Json| {
            facts(&json!([{ "Plan": {
                "Node Type": "Result",
                "Plans": [
                    {"Node Type": "Subquery Scan", "Parent Relationship": "InitPlan",
                     "Plans": [{"Node Type": join, "Join Type": "Inner", "Parent Relationship": "Subquery",
                                "Plans": [
                                    {"Node Type": "Seq Scan", "Relation Name": "pg_class", "Schema": "pg_catalog",
                                     "Parent Relationship": "Outer"},
                                    inner
                                ]}]},
                    {"Node Type": "Aggregate", "Parent Relationship": "InitPlan",
                     "Plans": [{"Node Type": "Index Only Scan", "Relation Name": "pg_sessions",
                                "Schema": "public", "Index Name": "s_user", "Parent Relationship": "Outer"}]}
                ]
            }}]))
            .unwrap()
            .signature
        };
        let nested = with_catalog_join(
            "Nested Loop",
            json!({"Node Type": "Index Scan", "Relation Name": "pg_namespace", "Schema": "pg_catalog",
                   "Index Name": "pg_namespace_oid_index", "Parent Relationship": "Inner"}),
        );
        let hashed = with_catalog_join(
            "Hash Join",
            json!({"Node Type": "Hash", "Parent Relationship": "Inner",
                   "Plans": [{"Node Type": "Seq Scan", "Relation Name": "pg_namespace",
                              "Schema": "pg_catalog", "Parent Relationship": "Outer"}]}),
        );
        assert_eq!(nested, hashed);
        assert_eq!(
            nested,
            "Result [InitPlan: (catalog lookup); InitPlan: Aggregate -> Index Only Scan using s_user on pg_sessions]"
        );
        // A user's table named pg_… in a VERBOSE plan is the user's: its schema says so.
        assert!(nested.contains("on pg_sessions"));
    }

    #[test]
    fn timing_changes_do_not_change_the_signature() {
        let mut other = doc();
        other[0]["Plan"]["Actual Rows"] = json!(100);
        other[0]["Execution Time"] = json!(99.0);
        assert_eq!(
            facts(&doc()).unwrap().signature,
            facts(&other).unwrap().signature
        );
    }

    #[test]
    fn triggers_are_part_of_the_signature() {
        let with = |triggers: Json| {
            let mut d = doc();
            d[0]["Triggers"] = triggers;
            facts(&d).unwrap().signature
        };
        let plain = with(json!([]));
        assert!(!plain.contains("triggers"), "{plain}");
        let audit = with(json!([
            {"Trigger Name": "audit_upd", "Relation": "items", "Time": 0.2, "Calls": 1},
            {"Trigger Name": "RI_ConstraintTrigger_c_16402", "Constraint Name": "items_grp_fkey",
             "Relation": "items", "Time": 0.1, "Calls": 1}
        ]));
        assert_eq!(
            audit,
            format!("{plain} + triggers [audit_upd on items; items_grp_fkey on items]")
        );
        // A replaced trigger changes the signature; the OID in an FK trigger's name does not.
        let replaced = with(json!([
            {"Trigger Name": "audit_upd_v2", "Relation": "items", "Time": 0.2, "Calls": 1},
            {"Trigger Name": "RI_ConstraintTrigger_c_99999", "Constraint Name": "items_grp_fkey",
             "Relation": "items", "Time": 0.1, "Calls": 1}
        ]));
        assert_ne!(replaced, audit);
        assert!(replaced.contains("items_grp_fkey on items"));
    }
}
