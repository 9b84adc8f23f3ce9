//! DESIGN's size goal, kept: every component's release `.wasm` is at most 512 KiB (each ships
//! its own binary). BENCHMARKS.md has the figures; `twiggy` on the core module shows what grew.

use facteur_harness::App;
use facteur_harness::manifest::Manifest;
use facteur_harness::support::manifest_path;

const GOAL: u64 = 512 * 1024;

#[tokio::test]
async fn every_component_wasm_is_at_most_512_kib() {
    // Loading runs the manifest's build commands: the sizes are those of this commit.
    let app = App::builder(manifest_path()).load().await.unwrap();
    let manifest = Manifest::load(&manifest_path()).unwrap();
    let oversized: Vec<String> = app
        .components()
        .into_iter()
        .map(|id| (std::fs::metadata(&manifest.components[&id].source).unwrap().len(), id))
        .filter(|(size, _)| *size > GOAL)
        .map(|(size, id)| format!("{id}: {:.1} KiB", size as f64 / 1024.0))
        .collect();
    assert!(oversized.is_empty(), "over 512 KiB: {oversized:?}");
}

/// No component links `std::backtrace` and its symbol demangler (with `anyhow`, about 50 KB of
/// each `.wasm`). They come with `anyhow` errors, which spin-sdk builds when it converts its own
/// `Request` (`spin_sdk::http::send`) or a `Response` a handler returns: send with
/// `facteur::spin::outbound::Outgoing` and answer with `facteur::spin::respond` (BENCHMARKS.md,
/// Component sizes). Only `Backtrace::capture` reads `RUST_LIB_BACKTRACE`.
#[tokio::test]
async fn no_component_links_std_backtrace() {
    let app = App::builder(manifest_path()).load().await.unwrap();
    let manifest = Manifest::load(&manifest_path()).unwrap();
    let linking: Vec<String> = app
        .components()
        .into_iter()
        .filter(|id| {
            let wasm = std::fs::read(&manifest.components[id].source).unwrap();
            wasm.windows(18).any(|w| w == b"RUST_LIB_BACKTRACE")
        })
        .collect();
    assert!(linking.is_empty(), "link std::backtrace (anyhow): {linking:?}");
}
