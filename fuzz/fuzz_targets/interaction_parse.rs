//! Any body: parsing, and every accessor the components use, must not panic.
#![no_main]
use facteur::discord::Interaction;
use facteur::routing::route;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(interaction) = Interaction::parse(data) {
        let _ = (interaction.command_name(), interaction.custom_id(), interaction.user_id(), interaction.roles());
        let _ = (interaction.subcommand_path(), interaction.leaf_options(), interaction.focused_option());
        let _ = route(&facteur::catalog::Catalog::embedded(), &interaction);
    }
});
