//! Hostile knowledge bases (issue 14): each test builds, in Rust, an input like those of the
//! robustness generators (`gen_kb.py` in the review) and checks it is refused with a clear
//! error at the right line, or handled with a bounded structure, instead of leaking files,
//! crashing or taking minutes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;

use guichet::kb::body::{self, BuildOptions, MAX_BLOCK_NESTING};
use guichet::kb::expr::{self, MAX_OBJECT_KEYS};
use guichet::kb::source::{self, MAX_FILE_BYTES, MAX_INCLUDES};
use guichet::kb::yaml::MAX_HEADER_BYTES;
use guichet::kb::{self, Diagnostic, Line, Location, Severity};

const DYNAMIC: &str = "---\ncontenuDynamique: true\n---\n";

fn errors_of(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

/// The errors of a base on disk, as `guichet check` finds them.
fn check_errors(main: &Path) -> Vec<(u32, String)> {
    let checked = kb::check_path(main).unwrap();
    errors_of(&checked.diagnostics)
        .into_iter()
        .map(|d| (d.location.map_or(0, |l| l.line), d.message.clone()))
        .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

// ------------------------------------------------------------------------------------------
// Item 1 and 6: files stay in the content folder, regular and bounded.

/// `gen_kb.py include_escape`: `..`, an absolute path, a symlink out, a URL ending in `..`,
/// and a synonyms file outside. Nothing outside the folder may be read; each refusal is an
/// error at the line of its entry.
#[test]
fn includes_and_synonyms_stay_in_the_content_folder() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside-secret.txt");
    write(&outside, "## Secret\n- secret\nSECRET-OUTSIDE\n");
    let content = dir.path().join("kb");
    write(&content.join("inside/ok.md"), "## Dedans\n- dedans\nOK\n");
    std::os::unix::fs::symlink(&outside, content.join("link.md")).unwrap();
    let main = content.join("index.md");
    write(
        &main,
        &format!(
            "---\ninclude:\n  - ../outside-secret.txt\n  - {}\n  - link.md\n  - https://example.org/x/..\n  - inside/../inside/ok.md\nsynonymes: ../outside-secret.txt\n---\n# T\n\nBienvenue\n## Fin\n- fin\nfin\n",
            outside.display()
        ),
    );
    let errors = check_errors(&main);
    let lines: Vec<u32> = errors.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 8], "{errors:#?}");
    assert!(
        errors[0].1.contains("outside the content folder"),
        "{errors:?}"
    );
    assert!(errors[1].1.contains("absolute path"), "{errors:?}");
    assert!(
        errors[2].1.contains("outside the content folder"),
        "{errors:?}"
    );
    assert!(errors[4].1.contains("synonyms"), "{errors:?}");

    let checked = kb::check_path(&main).unwrap();
    let read: Vec<String> = checked.files.iter().flat_map(|f| f.lines.clone()).collect();
    assert!(!read.iter().any(|l| l.contains("SECRET")), "{read:?}");
    // The include that stays inside after `..` is read.
    assert!(read.iter().any(|l| l == "## Dedans"));
    assert!(checked.kb.unwrap().synonyms.is_empty());
}

/// `guichet check` prints each refusal as `file:line: error:` and exits 1.
#[test]
fn check_command_reports_a_refused_include_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("kb/index.md");
    write(
        &main,
        "---\ninclude:\n  - ../../../../etc/passwd\n---\n# T\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .arg("check")
        .arg(&main)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("index.md:3: error: cannot include"),
        "{stdout}"
    );
    assert!(!stdout.contains("root:"), "{stdout}");
}

/// `gen_kb.py include_special fifo` and `big`: a named pipe hung the reload, a 3 GB file
/// exhausted memory. Both are refused without being read; so is a main file that is a pipe.
#[test]
fn special_and_oversized_files_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.md");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let big = dir.path().join("sparse.md");
    // Sparse: nothing is written, the size alone must refuse it.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(3 * 1024 * 1024 * 1024)
        .unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let main = dir.path().join("index.md");
    write(
        &main,
        "---\ninclude:\n  - sparse.md\n  - sub\n  - pipe.md\n---\n# T\n\nBienvenue\n",
    );
    let errors = check_errors(&main);
    assert!(errors[0].1.contains("larger than"), "{errors:?}");
    assert_eq!(errors[0].0, 3);
    assert!(errors[1].1.contains("not a regular file"), "{errors:?}");
    if made {
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[2].1.contains("not a regular file"), "{errors:?}");
        assert_eq!(errors[2].0, 5);
        let err = kb::check_path(&fifo).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
    // Just over the cap is refused, even when the file grows while it is read.
    let over = dir.path().join("over.md");
    std::fs::File::create(&over)
        .unwrap()
        .set_len(MAX_FILE_BYTES + 1)
        .unwrap();
    assert!(matches!(
        source::read_text(&over),
        Err(source::FileError::TooLarge(_))
    ));
}

/// `gen_kb.py include_repeat`: one file listed 5,000 times took 4 GB. The number of includes
/// (repeats counted) and the assembled size are both capped.
#[test]
fn includes_are_capped_in_number_and_total_size() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.md"), "## A\n- alpha\nA\n");
    let main = dir.path().join("index.md");
    write(
        &main,
        &format!(
            "---\ninclude:\n{}---\n# T\n\nBienvenue\n",
            "  - a.md\n".repeat(5_000)
        ),
    );
    let assembled = source::assemble(&main).unwrap();
    let errors = errors_of(&assembled.diagnostics);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("more than 256 includes"));
    // The first refused entry is on line 3 + MAX_INCLUDES of the file.
    let line = u32::try_from(3 + MAX_INCLUDES).unwrap();
    assert_eq!(errors[0].location.unwrap().line, line);
    assert_eq!(assembled.files.len(), 1 + MAX_INCLUDES);

    // 6 MiB listed 20 times: under the per-file cap, over the total.
    let big = dir.path().join("big.md");
    std::fs::write(&big, "x".repeat(6 * 1024 * 1024)).unwrap();
    write(
        &main,
        &format!(
            "---\ninclude:\n{}---\n# T\n\nBienvenue\n",
            "  - big.md\n".repeat(20)
        ),
    );
    let assembled = source::assemble(&main).unwrap();
    let errors = errors_of(&assembled.diagnostics);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("would exceed 32 MiB"));
    let total: usize = assembled.lines.iter().map(|l| l.text.len()).sum();
    assert!(total <= 32 * 1024 * 1024, "{total}");
}

// ------------------------------------------------------------------------------------------
// Item 2: nesting.

fn nested_if(levels: usize) -> String {
    let opening: String = (0..levels)
        .map(|k| format!("`if @a{}!=zz{k}`\n", k % 3))
        .collect();
    format!(
        "{DYNAMIC}# T\n\nBienvenue\n## Profond\n- profond\n{opening}profond\n{}",
        "`endif`\n".repeat(levels)
    )
}

/// `gen_kb.py nested_if`: 5,000 levels crashed the daemon when a user reached the response,
/// and `check` accepted them. Now one error, at the `if` past the limit.
#[test]
fn nested_if_blocks_are_bounded_at_parse_time() {
    let checked = kb::parse_str("t.md", &nested_if(5_000));
    let errors = errors_of(&checked.diagnostics);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("nested more than 32 levels"));
    // Header (3 lines), title, blank, welcome, response title, keyword: the first `if` is on
    // line 9; the first one past the limit follows the 32 that fit.
    let line = u32::try_from(9 + MAX_BLOCK_NESTING).unwrap();
    assert_eq!(errors[0].location.unwrap().line, line);

    // At the limit a base loads, and its tree is exactly that deep.
    let checked = kb::parse_str("t.md", &nested_if(MAX_BLOCK_NESTING));
    assert_eq!(checked.error_count(), 0, "{:?}", checked.diagnostics);
    let kb = checked.kb.unwrap();
    let mut depth = 0;
    let mut nodes = &kb.responses[0].message.variants[0];
    while let Some(children) = nodes.iter().find_map(|n| match n {
        kb::Node::If { children, .. } => Some(children),
        _ => None,
    }) {
        depth += 1;
        nodes = children;
    }
    assert_eq!(depth, MAX_BLOCK_NESTING);
    // The choices' conditions are bounded too.
    let deep_choice = format!(
        "{}1. [C](Profond)\n",
        nested_if(200).trim_end_matches("`endif`\n")
    );
    let checked = kb::parse_str("t.md", &deep_choice);
    let kb = checked.kb.unwrap();
    let choice = &kb.responses[0].message.choices[0];
    assert_eq!(choice.conditions.len(), MAX_BLOCK_NESTING);
}

/// `gen_kb.py nested_if_oneline` (200,000 `if` spans on one line aborted `check`), and
/// show-once parts opened inside each other, which nest like `if`.
#[test]
fn nesting_on_one_line_and_show_once_parts_are_bounded() {
    let line = Line {
        text: "`if @a==b` ".repeat(200_000),
        location: Location { file: 0, line: 7 },
    };
    let mut diagnostics = Vec::new();
    let options = BuildOptions {
        dynamic: true,
        show_once: true,
    };
    let nodes = body::build(&[line], options, &mut diagnostics);
    assert!(nodes.len() <= 2, "{}", nodes.len());
    let errors = errors_of(&diagnostics);
    assert!(errors[0].message.contains("nested more than"), "{errors:?}");
    assert_eq!(errors[0].location.unwrap().line, 7);

    let line = Line {
        text: "<span class=\"unique\">".repeat(100_000),
        location: Location { file: 0, line: 3 },
    };
    let mut diagnostics = Vec::new();
    body::build(&[line], options, &mut diagnostics);
    assert_eq!(errors_of(&diagnostics).len(), 1, "{diagnostics:?}");
}

/// Expressions nest too: parentheses in a condition or a `calc` are bounded by the expression
/// parser (`MAX_NESTING`), so a hostile one is an error at load time, not a crash at display.
#[test]
fn deep_expressions_in_a_base_are_errors() {
    let deep = 100_000;
    let text = format!(
        "{DYNAMIC}# T\n\nBienvenue\n## C\n- c\n`if {}@x==1{}`\nvrai\n`endif`\n`@r = calc({}1)`\n",
        "(".repeat(deep),
        ")".repeat(deep),
        "!".repeat(deep),
    );
    let checked = kb::parse_str("t.md", &text);
    let errors = errors_of(&checked.diagnostics);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e.message.contains("too deeply nested"))
    );
}

// ------------------------------------------------------------------------------------------
// Item 3: the YAML header.

/// `gen_kb.py yaml_bomb`: ten aliases of ten aliases … (529 bytes took 4 GB). Aliases are
/// refused before anything is expanded, at their line; a plain alias too.
#[test]
fn yaml_aliases_are_refused() {
    let mut header = vec!["a0: &a0 \"lol\"".to_string()];
    for k in 1..=5 {
        let refs = vec![format!("*a{}", k - 1); 10].join(", ");
        header.push(format!("a{k}: &a{k} [{refs}]"));
    }
    header.push("messageParDéfaut: *a5".to_string());
    let text = format!("---\n{}\n---\n# T\n\nBienvenue\n", header.join("\n"));
    let checked = kb::parse_str("t.md", &text);
    let errors = errors_of(&checked.diagnostics);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("aliases"), "{errors:?}");
    assert_eq!(errors[0].location.unwrap().line, 3);
    assert_eq!(checked.kb.unwrap().settings.default_messages, None);

    let checked = kb::parse_str(
        "t.md",
        "---\nfallback: &f Aide\nvariables:\n  x: *f\n---\n# T\n\nB\n",
    );
    let errors = errors_of(&checked.diagnostics);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].location.unwrap().line, 4);
}

/// `gen_kb.py big_yaml`: the header is capped before it is parsed.
#[test]
fn yaml_header_size_is_capped() {
    let lines: String = (0..2_000)
        .map(|i| format!("  v{i}: \"{}\"\n", "y".repeat(40)))
        .collect();
    assert!(lines.len() > MAX_HEADER_BYTES);
    let text = format!("---\nvariables:\n{lines}---\n# T\n\nBienvenue\n");
    let checked = kb::parse_str("t.md", &text);
    let errors = errors_of(&checked.diagnostics);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("larger than 64 KiB"));
    assert!(checked.kb.unwrap().settings.variables.is_empty());
}

// ------------------------------------------------------------------------------------------
// Item 7: super-linear scans.

/// `gen_kb.py object_literal`: 80,000 keys took 37 s at every display. Object literals (and
/// `JSON.parse` objects) are bounded.
#[test]
fn calc_objects_are_bounded() {
    let object = |n: usize| {
        let entries: Vec<String> = (0..n).map(|k| format!("\"k{k}\": {k}")).collect();
        format!("{{{}}}", entries.join(","))
    };
    let err = expr::parse_calc(&object(80_000)).unwrap_err();
    assert!(err.message.contains("more than 1000 keys"), "{err}");
    assert!(expr::parse_calc(&object(MAX_OBJECT_KEYS)).is_ok());
    // Repeating a key does not count twice.
    let repeated = format!("{{{}}}", vec!["\"a\": 1"; 5_000].join(","));
    assert!(expr::parse_calc(&repeated).is_ok());

    // Short keys: the text must stay under the string cap to reach `JSON.parse`.
    let keys: Vec<String> = (0..=MAX_OBJECT_KEYS)
        .map(|k| format!("\\\"{k}\\\":0"))
        .collect();
    let json = format!("{{{}}}", keys.join(","));
    let parsed = expr::parse_calc(&format!("JSON.parse(\"{json}\")")).unwrap();
    let result = guichet::engine::eval::evaluate(&parsed, &|_: &str| None);
    let err = result.unwrap_err();
    assert!(err.to_string().contains("too many keys"), "{err}");
}

/// `gen_kb.py code_spans_one_line`: the column of each span was counted from the start of the
/// line (quadratic: 200,000 spans took 4 s, a million would take minutes). Columns are still
/// right.
#[test]
fn many_code_spans_on_one_line_are_scanned_in_one_pass() {
    let options = BuildOptions {
        dynamic: true,
        show_once: false,
    };
    let line = Line {
        text: "`@x` ".repeat(1_000_000),
        location: Location { file: 0, line: 1 },
    };
    let mut diagnostics = Vec::new();
    let nodes = body::build(&[line], options, &mut diagnostics);
    assert_eq!(nodes.len(), 2_000_000);
    // Columns are counted in characters, after the opening backtick.
    let line = Line {
        text: "é `@x` ç `if @x==1 && eval(2)` `endif`".to_string(),
        location: Location { file: 0, line: 1 },
    };
    let mut diagnostics = Vec::new();
    body::build(&[line], options, &mut diagnostics);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].column, Some(23));
}

/// `<span class="unique">` repeated in the welcome message: each marker re-searched the rest
/// of the line and recursed (1 MB took 20 s; 3 MB would take minutes or overflow the stack).
#[test]
fn repeated_show_once_markers_are_scanned_in_one_pass() {
    let line = Line {
        text: "<span class=\"unique\">x</span>".repeat(120_000),
        location: Location { file: 0, line: 1 },
    };
    let mut diagnostics = Vec::new();
    let options = BuildOptions {
        dynamic: false,
        show_once: true,
    };
    let nodes = body::build(&[line], options, &mut diagnostics);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(nodes.len(), 120_000);
    assert!(
        nodes
            .iter()
            .all(|n| *n == kb::Node::ShowOnce(vec![kb::Node::Text("x".into())]))
    );
}

/// `[[[…](#a)`: each `[` made a link whose label copied the rest of the run (quadratic
/// memory: 100,000 `[` would take gigabytes). Only the last `[` before the `]` opens a link.
#[test]
fn a_run_of_brackets_makes_one_link() {
    let text = format!(
        "# T\n\nBienvenue\n## A\n- a\n{}lien](#A) et [x [b](#A)\n",
        "[".repeat(20_000)
    );
    let kb = kb::parse_str("t.md", &text).kb.unwrap();
    let links = &kb.responses[0].message.links;
    let labels: Vec<&str> = links.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, vec!["lien", "b"]);
}

/// `@{@{@{…` without a closing brace: each `@{` searched the rest of the run again
/// (quadratic). The text is left as it is, in one pass.
#[test]
fn a_run_of_unclosed_fixed_variables_is_left_alone() {
    let variables = [("_v".to_string(), vec!["x".to_string()])]
        .into_iter()
        .collect();
    let text = format!("{} @{{_v}} @{{_v", "@{".repeat(500_000));
    let out = kb::parse::substitute_fixed_variables(&text, &variables, true, &mut |_| 0);
    assert_eq!(out, format!("{} x @{{_v", "@{".repeat(500_000)));
}

/// Many `==` before a line terminator in a condition: each comparison scanned to the
/// terminator for its value (quadratic). Now one scan.
#[test]
fn many_comparisons_before_a_line_terminator_are_scanned_once() {
    let condition = format!("@a{}\u{2028}", "==".repeat(500_000));
    assert!(expr::parse_condition(&condition).is_err());
}

/// A condition naming many distinct variables (`Math.max(@v0, @v1, …)`): the lint listing
/// them searched its list for each (quadratic). Each is listed once, in order.
#[test]
fn many_distinct_variables_in_one_condition_are_listed_in_one_pass() {
    let n = 400_000;
    let arguments: Vec<String> = (0..n).map(|k| format!("@v{k}")).collect();
    let condition = format!("Math.max({})>1", arguments.join(","));
    let parsed = expr::parse_condition(&condition).unwrap();
    let names = parsed.variables();
    assert_eq!(names.len(), n);
    assert_eq!(names[n - 1], format!("v{}", n - 1));
}

/// The same condition in a base: one "never assigned" warning per variable, each quoting the
/// condition shortened (whole, 100,000 warnings would repeat a 1 MB condition: 100 GB).
#[test]
fn warnings_about_a_huge_condition_quote_it_shortened() {
    let n = 100_000;
    let arguments: Vec<String> = (0..n).map(|k| format!("@v{k}")).collect();
    let text = format!(
        "{DYNAMIC}# T\n\nBienvenue\n## A\n- a\n`if Math.max({})>1`\noui\n`endif`\n",
        arguments.join(",")
    );
    let checked = kb::parse_str("t.md", &text);
    let warnings: Vec<&Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("never assigned"))
        .collect();
    assert_eq!(warnings.len(), n);
    assert!(
        warnings.iter().all(|w| w.message.len() < 300),
        "{}",
        warnings[0].message
    );
}

/// A header followed by a million blank lines: they were removed one at a time from the
/// front of the base (quadratic). The response after them is found, at its line.
#[test]
fn many_blank_lines_after_the_header_are_cut_in_one_go() {
    let blanks = 1_000_000;
    let text = format!(
        "---\nfallback: A\n---\n{}## A\n- a\nA\n",
        "\n".repeat(blanks)
    );
    let checked = kb::parse_str("t.md", &text);
    let kb = checked.kb.unwrap();
    assert_eq!(kb.responses.len(), 1);
    let line = u32::try_from(4 + blanks).unwrap();
    assert_eq!(kb.responses[0].location.line, line);
}

/// `titresRéponses` is tried on every line: a list of thousands of prefixes, or a prefix of
/// thousands of `#` (each shorter heading was listed and tried on every line), cost
/// quadratic time and memory. The list is capped; structure headings are recognised by
/// counting a line's `#`.
#[test]
fn response_title_prefixes_are_bounded() {
    let many: Vec<String> = (0..5_000).map(|k| format!("\"p{k} \"")).collect();
    let text = format!(
        "---\ntitresRéponses: [{}]\n---\n# T\n\nB\n## A\n- a\n",
        many.join(", ")
    );
    let checked = kb::parse_str("t.md", &text);
    let errors = errors_of(&checked.diagnostics);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("more than 16 prefixes"));
    assert_eq!(checked.kb.unwrap().settings.response_prefixes.len(), 16);

    // Under the header cap, and about 1.8 GB of listed headings for the old code.
    let deep = "#".repeat(60_000);
    let text = format!(
        "---\ntitresRéponses: [\"{deep} \"]\n---\n# T\n\nB\n## Partie\n{deep} R\ntexte\n#### sous-titre\n{}\n",
        "ligne\n".repeat(300_000)
    );
    let kb = kb::parse_str("t.md", &text).kb.unwrap();
    assert_eq!(kb.responses.len(), 1);
    let lines = &kb.responses[0].message.lines;
    assert_eq!(lines[0].text, "texte");
    assert_eq!(lines[1].text, "ligne");
}

/// "Did you mean" compared a dangling target with every title by edit distance, whose cost
/// is the product of the lengths: a 100,000-character target and title took 80 GB. Long
/// texts get no suggestion, and the work of one check is budgeted; short typos still do.
#[test]
fn suggestions_for_dangling_targets_are_bounded() {
    let long = "t".repeat(100_000);
    let text =
        format!("# T\n\n1. [x]({long}u)\n1. [y](Horaire)\n## {long}\n- a\n## Horaires\n- h\n");
    let checked = kb::parse_str("t.md", &text);
    let dangling: Vec<&str> = checked
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("names no response"))
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(dangling.len(), 2, "{dangling:?}");
    assert!(!dangling[0].contains("did you mean"));
    assert!(
        dangling[1].contains("did you mean `Horaires`"),
        "{}",
        dangling[1]
    );

    // Many dangling targets and many titles: the budget runs out, the warnings remain.
    let titles: String = (0..3_000)
        .map(|k| format!("## {}{k}\n- a\n", "titre".repeat(100)))
        .collect();
    let choices: String = (0..3_000)
        .map(|k| format!("1. [c](x{}{k})\n", "titre".repeat(100)))
        .collect();
    let checked = kb::parse_str("t.md", &format!("# T\n\n{choices}{titles}"));
    let count = checked
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("names no response"))
        .count();
    assert_eq!(count, 3_000);
}

/// A line of 20,000 invalid conditions: every error quoted the whole 200 KB line (4 GB of
/// report). Long lines are quoted around the column, and only the first errors are quoted.
#[test]
fn errors_on_a_long_line_are_quoted_in_a_bounded_report() {
    let spans = 20_000;
    let text = format!(
        "{DYNAMIC}# T\n\nBienvenue\n## A\n- a\n{}\n",
        "`if @a==` `endif` ".repeat(spans)
    );
    let checked = kb::parse_str("t.md", &text);
    assert!(checked.error_count() >= spans);
    let report = checked.report();
    assert!(report.len() < 5_000_000, "{} bytes", report.len());
    let errors: Vec<Diagnostic> = errors_of(&checked.diagnostics)
        .into_iter()
        .cloned()
        .collect();
    let rendered = kb::diagnostic::render_all(&checked.files, &errors);
    assert!(rendered.len() < 5_000_000, "{} bytes", rendered.len());
    // The quote of a far error is a window with its caret under the column.
    let far = &errors[spans - 1];
    let rendered = far.render(&checked.files);
    let quoted: Vec<&str> = rendered.lines().collect();
    assert_eq!(quoted.len(), 4, "{rendered}");
    assert!(quoted[2].contains("…`if @a==`"), "{rendered}");
    assert!(quoted[2].chars().count() < 200, "{rendered}");
    let caret = quoted[3].chars().position(|c| c == '^').unwrap();
    let line = &checked.files[0].lines[8];
    let column = far.column.unwrap() as usize;
    assert_eq!(
        quoted[2].chars().nth(caret),
        line.chars().nth(column - 1),
        "{rendered}"
    );
}
