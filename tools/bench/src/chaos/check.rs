//! The checker of `make chaos`: the recorded history against the final state of
//! Postgres and the bucket. Every promise it checks is one the API makes (docs/routes.md,
//! docs/rate-limits.md); a broken one is a violation, and the run fails.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::workload::{project_name, straight_name, user_email, Attempt, Ending, History, Kind};

/// No answer may take longer than this (the functions' upstream timeout is 1 s; the
/// longest route makes four upstream calls, and Lambda's timeout is 10 s).
pub const HANG: Duration = Duration::from_secs(10);

/// What Postgres and the bucket hold when the run has ended (after the last sweep).
#[derive(Debug, Default)]
pub struct State {
    /// The run's projects by id: (name, description).
    pub projects: BTreeMap<String, (String, Option<String>)>,
    /// The actors' uploads by id: (owner, status).
    pub uploads: BTreeMap<String, (String, String)>,
    /// The bucket's object keys.
    pub objects: BTreeSet<String>,
    /// Keys queued for deletion (`private.storage_deletions`).
    pub queued: BTreeSet<String>,
    /// The run's posts by id: (title, published).
    pub posts: BTreeMap<String, (String, bool)>,
    /// The run's auth users by id: (email, has a profile, role).
    pub users: BTreeMap<String, (String, bool, Option<String>)>,
    /// Across the database: profiles without an auth user, auth users without a profile
    /// or without a role.
    pub orphans: [i64; 3],
    /// The create-upload rule: (max hits, window).
    pub upload_rule: (u32, Duration),
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Check {
    pub violations: Vec<String>,
    /// Operations by kind: (acknowledged, done without an acknowledgement, not done).
    pub creates: BTreeMap<Kind, [usize; 3]>,
}

/// Whether `attempt`'s answer is one the API may give to `kind`; `uncertain` says an
/// earlier attempt of the same operation may have done it (lost, or answered 503).
fn allowed(kind: Kind, attempt: &Attempt, uncertain: bool) -> bool {
    let (status, code) = (attempt.status, attempt.code.as_deref());
    match (kind, status, code) {
        (Kind::Sweep, Some(200), _) | (Kind::Sweep, None, Some(_)) => true,
        (Kind::PutObject, Some(200), _) => true,
        (Kind::StraightCreate, Some(200), _) => true,
        (Kind::Sweep | Kind::PutObject | Kind::StraightCreate, _, _) => false,
        (_, Some(503), Some("SERVICE_UNAVAILABLE")) => true,
        (_, Some(429), Some("RATE_LIMITED")) => true,
        (k, Some(409), Some("IDEMPOTENCY_IN_PROGRESS")) => k.keyed(),
        (Kind::CreateProject | Kind::CreatePost | Kind::CreateUser, Some(201), _) => true,
        (Kind::CreateUpload, Some(201), _) | (Kind::CreateUpload, Some(409), Some("CONFLICT")) => {
            true
        }
        (Kind::PublishPost | Kind::UpdateProject | Kind::CompleteUpload, Some(200), _) => true,
        (Kind::DeleteProject | Kind::DeleteUpload | Kind::DeleteUser, Some(204), _) => true,
        (
            Kind::DeleteProject | Kind::DeleteUpload | Kind::DeleteUser,
            Some(404),
            Some("NOT_FOUND"),
        ) => uncertain,
        (Kind::SignIn | Kind::Refresh, Some(200), _) => true,
        // A refresh token used again after its answer was lost: Supabase Auth's reuse
        // interval (10 s) is the only grace.
        (Kind::Refresh, Some(401), Some("UNAUTHORIZED")) => uncertain,
        _ => false,
    }
}

/// The history against the state.
pub fn check(history: &History, state: &State) -> Check {
    let mut check = Check::default();
    let mut by_op: BTreeMap<usize, Vec<&Attempt>> = BTreeMap::new();
    for attempt in &history.attempts {
        by_op.entry(attempt.op).or_default().push(attempt);
    }
    let violation = |check: &mut Check, text: String| check.violations.push(text);

    // Every answer: allowed, shaped, in time.
    for (&op, attempts) in &by_op {
        let kind = history.ops[op].kind;
        let mut uncertain = false;
        for attempt in attempts {
            let what = || format!("{} (operation {op})", kind.route());
            match &attempt.ending {
                Ending::Broken(why) => violation(&mut check, format!("{}: {why}", what())),
                Ending::Lost => {}
                Ending::Answered => {
                    if !allowed(kind, attempt, uncertain) {
                        violation(
                            &mut check,
                            format!(
                                "{}: answered {} {}",
                                what(),
                                attempt.status.map_or("nothing".into(), |s| s.to_string()),
                                attempt.code.as_deref().unwrap_or("(no error code)")
                            ),
                        );
                    }
                    if let Some(missing) = &attempt.shape {
                        violation(
                            &mut check,
                            format!("{}: the answer lacks {missing}", what()),
                        );
                    }
                }
            }
            if attempt.elapsed > HANG {
                violation(
                    &mut check,
                    format!("{}: took {:.1} s", what(), attempt.elapsed.as_secs_f64()),
                );
            }
            uncertain |= attempt.ending == Ending::Lost || attempt.status == Some(503);
        }
    }

    // Which resources acknowledged deletes removed, and which may be gone.
    let mut deleted: BTreeSet<&str> = BTreeSet::new();
    let mut maybe_deleted: BTreeSet<&str> = BTreeSet::new();
    for (&op, attempts) in &by_op {
        let o = &history.ops[op];
        if !matches!(
            o.kind,
            Kind::DeleteProject | Kind::DeleteUpload | Kind::DeleteUser
        ) {
            continue;
        }
        let Some(target) = o.target.as_deref() else {
            continue;
        };
        if attempts.iter().any(|a| matches!(a.status, Some(204 | 404))) {
            deleted.insert(target);
        } else if attempts
            .iter()
            .any(|a| a.ending == Ending::Lost || a.status == Some(503))
        {
            maybe_deleted.insert(target);
        }
    }
    let gone = |id: &str| deleted.contains(id) || maybe_deleted.contains(id);

    // Keyed creates: exactly once when acknowledged, at most once otherwise, one answer.
    for (&op, attempts) in &by_op {
        let o = &history.ops[op];
        let found: Vec<&str> = match o.kind {
            Kind::CreateProject => named(&state.projects, &project_name(&o.key)),
            Kind::StraightCreate => named(&state.projects, &straight_name(&o.key)),
            Kind::CreatePost => state
                .posts
                .iter()
                .filter(|(_, (title, _))| *title == project_name(&o.key))
                .map(|(id, _)| id.as_str())
                .collect(),
            Kind::CreateUser => state
                .users
                .iter()
                .filter(|(_, (email, _, _))| *email == user_email(&o.key))
                .map(|(id, _)| id.as_str())
                .collect(),
            Kind::CreateUpload => Vec::new(),
            _ => continue,
        };
        let answered: Vec<&str> = attempts
            .iter()
            .filter(|a| a.status.is_some_and(|s| (200..300).contains(&s)))
            .filter_map(|a| a.resource.as_deref())
            .collect();
        let route = o.kind.route();
        if found.len() > 1 {
            violation(
                &mut check,
                format!(
                    "{route} key {}: {} made for one key: {}",
                    o.key,
                    found.len(),
                    found.join(", ")
                ),
            );
        }
        let counts = check.creates.entry(o.kind).or_default();
        match answered.first() {
            Some(first) => {
                counts[0] += 1;
                if answered.iter().any(|id| id != first) {
                    violation(
                        &mut check,
                        format!(
                            "{route} key {}: its retries answered different ids: {}",
                            o.key,
                            answered.join(", ")
                        ),
                    );
                }
                let exists = match o.kind {
                    Kind::CreateUpload => state.uploads.contains_key(*first),
                    _ => found.contains(first),
                };
                if !exists && !gone(first) {
                    violation(
                        &mut check,
                        format!(
                            "{route} key {}: answered {first}, which the database does not hold",
                            o.key
                        ),
                    );
                }
            }
            None if found.is_empty() => counts[2] += 1,
            None => counts[1] += 1,
        }
    }

    // Updates: the last acknowledged value, or a later one that may have committed.
    let mut updates: BTreeMap<&str, Vec<(usize, bool)>> = BTreeMap::new();
    for (&op, attempts) in &by_op {
        let o = &history.ops[op];
        if o.kind == Kind::UpdateProject {
            let acknowledged = attempts.iter().any(|a| a.status == Some(200));
            updates
                .entry(o.target.as_deref().unwrap_or_default())
                .or_default()
                .push((op, acknowledged));
        }
    }
    for (project, ops) in &updates {
        let Some((_, Some(description))) = state.projects.get(*project) else {
            continue;
        };
        let from = ops.iter().rposition(|(_, ack)| *ack).unwrap_or(0);
        let mut possible: Vec<&str> = ops[from..]
            .iter()
            .filter_map(|(op, _)| history.ops[*op].value.as_deref())
            .collect();
        if !ops.iter().any(|(_, ack)| *ack) {
            possible.push("make chaos");
        }
        if !possible.contains(&description.as_str()) {
            violation(
                &mut check,
                format!("project {project}: its description is {description:?}, which no acknowledged or later update set"),
            );
        }
    }

    // Acknowledged deletes, publishes and completions hold.
    for (&op, attempts) in &by_op {
        let o = &history.ops[op];
        let Some(target) = o.target.as_deref() else {
            continue;
        };
        let acknowledged = attempts
            .iter()
            .any(|a| a.status.is_some_and(|s| (200..300).contains(&s)) || a.status == Some(404));
        if !acknowledged {
            continue;
        }
        match o.kind {
            Kind::DeleteProject if state.projects.contains_key(target) => violation(
                &mut check,
                format!("project {target}: deleted (acknowledged), still there"),
            ),
            Kind::DeleteUpload if state.uploads.contains_key(target) => violation(
                &mut check,
                format!("upload {target}: deleted (acknowledged), still there"),
            ),
            Kind::DeleteUser if state.users.contains_key(target) => violation(
                &mut check,
                format!("user {target}: deleted (acknowledged), still there"),
            ),
            Kind::PublishPost => match state.posts.get(target) {
                Some((_, true)) => {}
                _ => violation(
                    &mut check,
                    format!("post {target}: published (acknowledged), not published"),
                ),
            },
            Kind::CompleteUpload if !gone(target) => match state.uploads.get(target) {
                Some((owner, status)) if status == "ready" => {
                    let file = format!("files/{owner}/{target}");
                    if !state.objects.contains(&file) {
                        violation(&mut check, format!("upload {target}: ready (acknowledged), but {file} is not in the bucket"));
                    }
                }
                other => violation(
                    &mut check,
                    format!(
                        "upload {target}: completed (acknowledged), now {:?}",
                        other.map(|(_, s)| s)
                    ),
                ),
            },
            _ => {}
        }
    }

    // The bucket and the rows: no object without its row (or queued for deletion), no
    // ready row without its file.
    for key in &state.objects {
        let id = key.rsplit('/').next().unwrap_or_default();
        if !state.uploads.contains_key(id) && !state.queued.contains(key) {
            violation(
                &mut check,
                format!("object {key}: no upload row, and not queued for deletion"),
            );
        }
    }
    for (id, (owner, status)) in &state.uploads {
        if status == "ready" && !state.objects.contains(&format!("files/{owner}/{id}")) {
            violation(
                &mut check,
                format!("upload {id}: ready, but its file is not in the bucket"),
            );
        }
    }

    // Users: each with a profile and a role, and no profile without its user.
    for (id, (email, profile, role)) in &state.users {
        if !profile || role.is_none() {
            violation(
                &mut check,
                format!("user {id} ({email}): profile {profile}, role {role:?}"),
            );
        }
    }
    let [profiles, without_profile, without_role] = state.orphans;
    if profiles + without_profile + without_role > 0 {
        violation(
            &mut check,
            format!("{profiles} profile(s) without an auth user, {without_profile} auth user(s) without a profile, {without_role} without a role"),
        );
    }

    // The create-upload limit: accepted creates of one user within any window at most
    // twice the rule (fixed windows allow that across an edge; docs/rate-limits.md).
    let (limit, window) = state.upload_rule;
    let mut accepted: BTreeMap<usize, Vec<Duration>> = BTreeMap::new();
    for attempt in &history.attempts {
        let o = &history.ops[attempt.op];
        if o.kind == Kind::CreateUpload && attempt.status == Some(201) && !attempt.replayed {
            accepted.entry(o.actor).or_default().push(attempt.sent);
        }
    }
    for (actor, mut times) in accepted {
        times.sort_unstable();
        let most = (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0);
        if most > 2 * limit as usize {
            violation(
                &mut check,
                format!("actor {actor}: {most} uploads created within {} s; the rule allows {limit}, {} across a window edge", window.as_secs(), 2 * limit),
            );
        }
    }
    check
}

fn named<'a>(projects: &'a BTreeMap<String, (String, Option<String>)>, name: &str) -> Vec<&'a str> {
    projects
        .iter()
        .filter(|(_, (n, _))| n == name)
        .map(|(id, _)| id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::workload::Op;
    use super::*;

    const K1: &str = "11111111-1111-4111-8111-111111111111";
    const K2: &str = "22222222-2222-4222-8222-222222222222";
    const K3: &str = "33333333-3333-4333-8333-333333333333";

    fn op(kind: Kind, key: &str, target: Option<&str>, value: Option<&str>) -> Op {
        Op {
            kind,
            actor: 0,
            key: key.to_owned(),
            target: target.map(str::to_owned),
            value: value.map(str::to_owned),
            baseline: false,
        }
    }

    fn attempt(
        op: usize,
        status: Option<u16>,
        resource: Option<&str>,
        code: Option<&str>,
    ) -> Attempt {
        Attempt {
            op,
            sent: Duration::ZERO,
            elapsed: Duration::from_millis(5),
            ending: if status.is_some() {
                Ending::Answered
            } else {
                Ending::Lost
            },
            status,
            code: code.map(str::to_owned),
            resource: resource.map(str::to_owned),
            replayed: false,
            shape: None,
            upload_request: None,
            cookies: Vec::new(),
        }
    }

    fn project(state: &mut State, id: &str, key: &str, description: &str) {
        state
            .projects
            .insert(id.into(), (project_name(key), Some(description.into())));
    }

    fn state() -> State {
        State {
            upload_rule: (10, Duration::from_secs(60)),
            ..State::default()
        }
    }

    #[test]
    fn a_clean_history_has_no_violation() {
        let history = History {
            ops: vec![
                op(Kind::CreateProject, K1, None, None),
                op(Kind::CreateProject, K2, None, None),
                op(Kind::CreateProject, K3, None, None),
                op(Kind::UpdateProject, K2, Some("p1"), Some("first")),
                op(Kind::UpdateProject, K3, Some("p1"), Some("second")),
                op(Kind::DeleteProject, K3, Some("p3"), None),
            ],
            attempts: vec![
                attempt(0, None, None, None),
                attempt(0, Some(503), None, Some("SERVICE_UNAVAILABLE")),
                attempt(0, Some(201), Some("p1"), None),
                attempt(1, None, None, None),
                attempt(2, Some(409), None, Some("IDEMPOTENCY_IN_PROGRESS")),
                attempt(2, Some(201), Some("p3"), None),
                attempt(3, Some(200), None, None),
                // Lost: it may have committed, so either value may be the last.
                attempt(4, None, None, None),
                // Lost, then 404: the first attempt deleted it.
                attempt(5, None, None, None),
                attempt(5, Some(404), None, Some("NOT_FOUND")),
            ],
        };
        let mut state = state();
        project(&mut state, "p1", K1, "second");
        project(&mut state, "p2", K2, "make chaos");
        let check = check(&history, &state);
        assert!(check.violations.is_empty(), "{:?}", check.violations);
        assert_eq!(check.creates[&Kind::CreateProject], [2, 1, 0]);
    }

    #[test]
    fn the_checker_finds_each_broken_promise() {
        let history = History {
            ops: vec![
                op(Kind::CreateProject, K1, None, None),
                op(Kind::CreateProject, K2, None, None),
                op(Kind::CreateProject, K3, None, None),
                op(Kind::UpdateProject, K1, Some("p2"), Some("acknowledged")),
                op(Kind::DeleteProject, K1, Some("p2b"), None),
                op(Kind::DeleteUpload, K1, Some("u1"), None),
            ],
            attempts: vec![
                // Answered, but not in the database.
                attempt(0, Some(201), Some("p1"), None),
                // Two answers naming two projects.
                attempt(1, Some(201), Some("p2"), None),
                attempt(1, Some(201), Some("p2b"), None),
                // A 500.
                attempt(2, Some(500), None, Some("INTERNAL_ERROR")),
                // Acknowledged, but the description is another.
                attempt(3, Some(200), None, None),
                // A 404 with no earlier attempt that could have deleted it.
                attempt(4, Some(404), None, Some("NOT_FOUND")),
                // Deleted (acknowledged), still there.
                attempt(5, Some(204), None, None),
            ],
        };
        let mut state = state();
        project(&mut state, "p2", K2, "stale");
        project(&mut state, "p2b", K2, "make chaos");
        state
            .uploads
            .insert("u1".into(), ("o".into(), "pending".into()));
        // An object without its row, and a ready upload without its file.
        state.objects.insert(format!("files/o/{K3}"));
        state
            .uploads
            .insert("u2".into(), ("o".into(), "ready".into()));
        state.orphans = [0, 1, 0];
        let check = check(&history, &state);
        let all = check.violations.join("\n");
        for expected in [
            "which the database does not hold",
            "2 made for one key",
            "retries answered different ids",
            "answered 500 INTERNAL_ERROR",
            "which no acknowledged or later update set",
            "answered 404 NOT_FOUND",
            "deleted (acknowledged), still there",
            "no upload row, and not queued",
            "ready, but its file is not in the bucket",
            "1 auth user(s) without a profile",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
    }

    #[test]
    fn an_answer_without_the_envelope_or_past_the_timeout_is_a_violation() {
        let history = History {
            ops: vec![op(Kind::UpdateProject, K1, Some("p1"), Some("v"))],
            attempts: vec![
                Attempt {
                    shape: Some("the error envelope".into()),
                    ..attempt(0, Some(503), None, Some("SERVICE_UNAVAILABLE"))
                },
                Attempt {
                    elapsed: HANG + Duration::from_millis(1),
                    ..attempt(0, Some(200), None, None)
                },
                Attempt {
                    ending: Ending::Broken("an invocation error".into()),
                    ..attempt(0, None, None, None)
                },
            ],
        };
        let check = check(&history, &state());
        assert_eq!(check.violations.len(), 3, "{:?}", check.violations);
    }

    #[test]
    fn uploads_past_twice_the_limit_in_a_window_are_a_violation() {
        let mut history = History::default();
        for i in 0..25 {
            history
                .ops
                .push(op(Kind::CreateUpload, &format!("{K1}{i}"), None, None));
            history.attempts.push(Attempt {
                sent: Duration::from_secs(i),
                ..attempt(i as usize, Some(201), Some(&format!("u{i}")), None)
            });
        }
        let mut state = state();
        for i in 0..25 {
            state
                .uploads
                .insert(format!("u{i}"), ("o".into(), "pending".into()));
        }
        let check = check(&history, &state);
        assert_eq!(check.violations.len(), 1, "{:?}", check.violations);
        assert!(check.violations[0].contains("25 uploads created within 60 s"));
    }
}
