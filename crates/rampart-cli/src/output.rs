//! Output: human tables (kubectl-like) by default, JSON for scripts with `--output json`.

use std::path::Path;

use anyhow::Context as _;
use comfy_table::{LineStyle, Table, TableStyle};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::args::Output;

pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn yaml(value: &impl Serialize) -> anyhow::Result<()> {
    print!(
        "{}",
        serde_saphyr::to_string(value).context("cannot render YAML")?
    );
    Ok(())
}

/// Columns aligned, one rule under the header: quiet like `kubectl get`, easy to scan.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('-').junction(' '));

/// A table in the house style.
pub fn table<const N: usize>(
    header: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> Table {
    let mut table = Table::new();
    table.load_style(STYLE);
    table.set_header(header);
    for row in rows {
        table.add_row(row);
    }
    table
}

/// Prints `value` as JSON, or runs `human` to print it for people.
pub fn emit<T: Serialize>(output: Output, value: &T, human: impl FnOnce(&T)) -> anyhow::Result<()> {
    match output {
        Output::Json => json(value),
        Output::Table => {
            human(value);
            Ok(())
        }
    }
}

/// Reads a YAML or JSON file into `T` (`rampart_model::document::from_text`: JSON strictly,
/// duplicate keys refused in both). Read and parse failures are usage errors (exit 2) that
/// name the file and, where known, the field.
pub fn read_file<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::usage(format!("cannot read {}: {e}", path.display())))?;
    rampart_model::document::from_text(&text)
        .map_err(|e| crate::usage(format!("{}: {e}", path.display())))
}

/// Renders a JSON value compactly for a table cell.
pub fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
