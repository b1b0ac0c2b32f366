//! Prints how guichet matching scores a message against a knowledge base (for authors and
//! for tuning): `cargo run --example why -- content "ma question"`.

use guichet::engine::guichet::GuichetIndex;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(message)) = (args.next(), args.next()) else {
        eprintln!("usage: why PATH MESSAGE");
        std::process::exit(2);
    };
    let kb = match guichet::kb::load(std::path::Path::new(&path)) {
        Ok((kb, _)) => kb,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    };
    let index = GuichetIndex::for_kb(&kb);
    println!("unknown share {:.2}", index.unknown_share(&message));
    let mut scored: Vec<_> = index
        .score_all(&message)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s.score != 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
    for (i, s) in scored.iter().take(8) {
        println!(
            "{:8.2} cov {:.2} rare {:.2} named {:.2} kw {} named {} about {} {:?}  {}",
            s.score,
            s.coverage,
            s.rare_coverage,
            s.named_coverage,
            s.keyword,
            s.named,
            s.about,
            s.evidence,
            kb.responses[*i].title
        );
    }
}
