//! `rampart eval`: evaluate one flag or all flags through OFREP and show why.

use rampart_model::api::OfrepResult;
use rampart_sdk::Client;

use crate::args::{EvalArgs, Output};
use crate::output::{self, cell, table};

pub async fn run(client: &Client, out: Output, args: EvalArgs) -> anyhow::Result<()> {
    let context: serde_json::Value = rampart_model::json::from_str(&args.context).map_err(|e| {
        if e.code() == rampart_model::ErrorCode::Parse {
            crate::usage(format!("--context is not valid JSON: {}", e.message()))
        } else {
            crate::usage(format!("--context: {e}"))
        }
    })?;
    if !context.is_object() {
        return Err(crate::usage(
            "--context must be a JSON object, e.g. '{\"targetingKey\":\"user-1\"}'",
        ));
    }
    let results = match &args.flag {
        Some(flag) => vec![client.evaluate(flag, &context).await?],
        None => client
            .evaluate_all(&context, None)
            .await?
            .body
            .map(|b| b.flags)
            .unwrap_or_default(),
    };
    match out {
        Output::Json => match (args.flag.is_some(), results.as_slice()) {
            (true, [one]) => output::json(one)?,
            _ => output::json(&results)?,
        },
        Output::Table => println!("{}", results_table(&results)),
    }
    // A single failed evaluation (unknown flag, missing targeting key) is a failed command.
    if let (Some(_), [OfrepResult::Failure(failure)]) = (&args.flag, results.as_slice()) {
        anyhow::bail!(
            "{}: {}",
            failure.error_code,
            failure
                .error_details
                .as_deref()
                .unwrap_or("evaluation failed")
        );
    }
    Ok(())
}

/// FLAG, VALUE, VARIANT, REASON, DETAIL (rule index, bucket, or the error).
pub fn results_table(results: &[OfrepResult]) -> comfy_table::Table {
    let rows = results.iter().map(|result| match result {
        OfrepResult::Success(s) => {
            let detail = s
                .metadata
                .iter()
                .filter(|(k, _)| k.as_str() != "revision")
                .map(|(k, v)| format!("{k}={}", cell(v)))
                .collect::<Vec<_>>()
                .join(" ");
            [
                s.key.clone(),
                cell(&s.value),
                s.variant.clone().unwrap_or_default(),
                s.reason.clone(),
                detail,
            ]
        }
        OfrepResult::Failure(f) => [
            f.key.clone().unwrap_or_default(),
            "-".to_owned(),
            "-".to_owned(),
            f.error_code.clone(),
            f.error_details.clone().unwrap_or_default(),
        ],
    });
    table(["FLAG", "VALUE", "VARIANT", "REASON", "DETAIL"], rows)
}
