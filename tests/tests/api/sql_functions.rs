//! Every database function the API calls is declared once, as a typed call
//! (shared/src/clients/sql.rs, functions/src/sql.rs), and PostgREST's `rpc` takes nothing
//! else. Here each declaration meets the function in `pg_proc`: the same name in
//! `public`, one definition, every declared argument one of its input arguments with the
//! same SQL type, and every input argument without a default declared.

use integration_tests::*;
use shared::clients::sql::Declared;

/// Whether `declared` is what the database has, or what differs.
async fn check(db: &tokio_postgres::Client, (name, args): Declared) -> Result<(), String> {
    let rows = db
        .query(
            // The input arguments as `name type, ...` (OUT and TABLE columns left out).
            "select p.oid::regprocedure::text, p.pronargdefaults::int,
                    pg_get_function_identity_arguments(p.oid)
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where n.nspname = 'public' and p.proname = $1",
            &[&name],
        )
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let [row] = rows.as_slice() else {
        return Err(format!(
            "{name}: {} definitions in public, not one",
            rows.len()
        ));
    };
    let defaults = row.get::<_, i32>(1) as usize;
    let identity: String = row.get(2);
    let inputs: Vec<(String, String)> = identity
        .split(", ")
        .filter(|a| !a.is_empty())
        .map(|a| {
            let (n, t) = a.split_once(' ').unwrap_or((a, ""));
            (n.to_owned(), t.to_owned())
        })
        .collect();
    for (arg, ty) in args {
        match inputs.iter().find(|(n, _)| n == arg) {
            None => return Err(format!("{name}: no argument {arg} (it has {inputs:?})")),
            Some((_, actual)) if actual != ty => {
                return Err(format!("{name}: {arg} is {actual}, declared {ty}"))
            }
            Some(_) => {}
        }
    }
    let required = inputs.len().saturating_sub(defaults);
    for (arg, _) in &inputs[..required] {
        if !args.iter().any(|(a, _)| a == arg) {
            return Err(format!("{name}: {arg} has no default and is not declared"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_declared_function_is_the_one_in_the_database() {
    let db = db().await;
    let declared: Vec<Declared> = shared::clients::sql::DECLARED
        .iter()
        .chain(functions::sql::DECLARED)
        .copied()
        .collect();
    let mut names: Vec<&str> = declared.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), declared.len(), "a function declared twice");
    let mut wrong = Vec::new();
    for d in declared {
        if let Err(e) = check(&db, d).await {
            wrong.push(e);
        }
    }
    assert!(
        wrong.is_empty(),
        "declarations that differ from pg_proc:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn the_check_finds_a_wrong_type_a_missing_argument_and_an_unknown_function() {
    let db = db().await;
    check(
        &db,
        (
            "create_project",
            &[("p_workspace_id", "uuid"), ("p_name", "text")],
        ),
    )
    .await
    .expect("the optional description may be left out");
    let wrong_type = check(
        &db,
        (
            "create_project",
            &[("p_workspace_id", "text"), ("p_name", "text")],
        ),
    )
    .await;
    assert!(wrong_type
        .unwrap_err()
        .contains("p_workspace_id is uuid, declared text"));
    let missing = check(&db, ("create_project", &[("p_workspace_id", "uuid")])).await;
    assert!(missing.unwrap_err().contains("p_name has no default"));
    let unknown_arg = check(&db, ("delete_post", &[("p_post", "uuid")])).await;
    assert!(unknown_arg.unwrap_err().contains("no argument p_post"));
    let unknown = check(&db, ("no_such_function", &[])).await;
    assert!(unknown.unwrap_err().contains("0 definitions"));
}
