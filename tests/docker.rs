//! No Docker engine runs on the build machines, so the image recipe is checked by reading
//! it: a multi-stage build, `--locked`, a non-root user, the `/data` volume, a health check
//! that runs `guichet health`, the `serve` entry point, and every COPY source present (and
//! not excluded by `.dockerignore`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;

/// Instructions with their arguments, continuation lines joined, comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                if let Some((keyword, rest)) = current.trim().split_once(char::is_whitespace) {
                    out.push((keyword.to_uppercase(), rest.trim().to_string()));
                }
                current.clear();
            }
        }
    }
    out
}

#[test]
fn dockerfile_builds_a_small_non_root_image_that_checks_its_health() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    let steps = instructions(&dockerfile);
    let stages: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| k == "FROM")
        .map(|(i, _)| i)
        .collect();
    assert!(stages.len() >= 2, "multi-stage build");
    assert!(steps[stages[0]].1.contains(" AS builder"));
    assert!(
        steps[*stages.last().unwrap()]
            .1
            .starts_with("debian:stable-slim")
    );
    let final_stage = &steps[*stages.last().unwrap()..];
    let find = |keyword: &str| -> Vec<&String> {
        final_stage
            .iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, v)| v)
            .collect()
    };
    assert!(
        steps
            .iter()
            .any(|(k, v)| k == "RUN" && v.contains("cargo build --release --locked"))
    );
    assert!(
        steps
            .iter()
            .any(|(k, v)| k == "RUN" && v.contains("--mount=type=cache"))
    );
    let user = find("USER");
    assert_eq!(user.len(), 1);
    assert!(
        !["root", "0"].contains(&user[0].as_str()),
        "runs as {}",
        user[0]
    );
    assert!(find("VOLUME").iter().any(|v| v.contains("/data")));
    // The state volume holds personal data: owner-only, as guichet creates a state folder.
    assert!(
        find("RUN").iter().any(|r| r.contains("chmod 700 /data")),
        "the /data volume is created 0700"
    );
    let health = find("HEALTHCHECK");
    assert!(
        health
            .iter()
            .any(|v| v.contains("CMD [\"guichet\", \"health\"")),
        "{health:?}"
    );
    assert_eq!(find("ENTRYPOINT"), vec!["[\"guichet\", \"serve\"]"]);
    assert!(
        final_stage
            .iter()
            .any(|(k, v)| k == "RUN" && v.contains("ca-certificates"))
    );

    let ignored: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for (keyword, args) in &steps {
        if keyword != "COPY" || args.starts_with("--from") {
            continue;
        }
        let parts: Vec<&str> = args.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            assert!(
                root.join(source).exists(),
                "COPY source {source} does not exist"
            );
            let top = source.trim_end_matches('/').split('/').next().unwrap();
            assert!(
                !ignored.contains(&top),
                "COPY source {source} is excluded by .dockerignore"
            );
        }
    }
    // The content the image ships is a valid knowledge base.
    assert!(guichet::kb::load(&root.join("content")).is_ok());
}

#[test]
fn compose_example_mounts_state_and_keeps_secrets_out() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let compose = std::fs::read_to_string(root.join("compose.example.yaml")).unwrap();
    assert!(compose.contains("guichet-data:/data"));
    assert!(compose.contains("env_file: guichet.env"));
    assert!(
        compose.contains("127.0.0.1:9100:9100"),
        "admin endpoint not published beyond the host"
    );
}
