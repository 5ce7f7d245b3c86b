//! Compiles the Slint UI (`ui/app.slint`) into Rust, with the translations in
//! `ui/translations/<lang>/LC_MESSAGES/doorguard.po` bundled. Element debug info is
//! always emitted, so the UI tests can find elements by their accessible labels.

use slint_build::{CompilerConfiguration, DefaultTranslationContext};

fn main() {
    let config = CompilerConfiguration::new()
        .with_style("fluent-dark".into())
        .with_bundled_translations("ui/translations")
        .with_default_translation_context(DefaultTranslationContext::None)
        .with_debug_info(true);
    if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
        eprintln!("cannot compile ui/app.slint: {e}");
        std::process::exit(1);
    }
}
