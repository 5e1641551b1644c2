//! Messages rendered per second per core: the example release (about 5 KB
//! of Markdown with personalisation, two languages) rendered for varied
//! contacts, HTML + text + the full MIME message, on one thread.
//!
//! Run: `cargo bench --bench render` (prints the figure and the target).

use std::path::Path;
use std::time::Instant;

use presswire::contacts::Contact;
use presswire::release::message::{self, Envelope};
use presswire::release::{Release, Renderer, TemplateSource};

fn contact(i: usize) -> Contact {
    let langs = ["en", "de", "en-GB", "de-AT", "fr"];
    Contact {
        id: i as i64,
        name: Some(format!("Journalist {i}")),
        first_name: (!i.is_multiple_of(7)).then(|| format!("Name{i}")),
        outlet: (!i.is_multiple_of(3)).then(|| format!("Outlet {}", i % 97)),
        role: Some("Reporter".into()),
        beat: i.is_multiple_of(2).then(|| "Climate".into()),
        country: Some("KE".into()),
        tags: vec!["press".into()],
        ..Contact::sample(
            &format!("journalist{i}@outlet{}.example", i % 97),
            "",
            &format!("Surname{i}"),
            Some(langs[i % langs.len()].into()),
        )
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let release = Release::load(&root.join("releases/example.md")).expect("example release");
    let templates = TemplateSource {
        dir: Some(root.join("templates")),
    };
    let renderer = Renderer::new(&release, &templates).expect("renderer");
    let n: usize = std::env::var("PRESSWIRE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let contacts: Vec<Contact> = (0..n).map(contact).collect();
    let md_bytes = release.main.body.trim_start().len();

    // Warm up, then measure rendering alone and rendering + building the e-mail.
    for c in contacts.iter().take(200) {
        renderer.render(&release, c).expect("render");
    }
    let start = Instant::now();
    let mut bytes = 0usize;
    for c in &contacts {
        let r = renderer.render(&release, c).expect("render");
        bytes += r.html.len() + r.text.len();
    }
    let render_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    for c in &contacts {
        let r = renderer.render(&release, c).expect("render");
        let file = release.file_for(c.language.as_deref());
        let m = message::build(file, &r, c, &[], &Envelope::new(&release)).expect("build");
        bytes += m.formatted().len();
    }
    let build_secs = start.elapsed().as_secs_f64();

    let render_rate = n as f64 / render_secs;
    let build_rate = n as f64 / build_secs;
    println!("release body: {md_bytes} bytes of Markdown; {n} contacts; one thread");
    println!("rendered (HTML + text):          {render_rate:>9.0} messages/s per core");
    println!("rendered + built (MIME message): {build_rate:>9.0} messages/s per core");
    println!(
        "target: >= 20000/s per core -> {}",
        if render_rate >= 20_000.0 {
            "PASS"
        } else {
            "MISS"
        }
    );
    std::hint::black_box(bytes);
}
