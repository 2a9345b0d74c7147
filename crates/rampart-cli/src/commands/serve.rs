//! `rampart serve`: run the server until Ctrl-C or SIGTERM, then drain and exit cleanly.

use anyhow::Context as _;
use rampart_server::{App, Config};

use crate::args::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(&args.log)?;
    let mut config = Config::sqlite(&args.data_dir);
    if args.max_body_bytes == 0 {
        return Err(crate::usage("--max-body-bytes must be above 0"));
    }
    config.max_body_bytes = args.max_body_bytes;
    if args.max_events_body_bytes == 0 {
        return Err(crate::usage("--max-events-body-bytes must be above 0"));
    }
    config.max_events_body_bytes = args.max_events_body_bytes;
    config.ledger_key_file = args.ledger_key.clone();
    if args.tick_interval.as_millis() < 10 {
        return Err(crate::usage("--tick-interval must be at least 10ms"));
    }
    config.tick_interval = std::time::Duration::from_millis(args.tick_interval.as_millis());
    let app = App::open(&config)
        .await
        .with_context(|| format!("cannot open the data dir {}", args.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another server running?)",
                args.listen
            )
        })?;
    let address = listener.local_addr()?;
    tracing::info!(
        %address,
        data_dir = %args.data_dir.display(),
        revision = app.revision(),
        "rampart is serving: OFREP at http://{address}/ofrep/v1, admin API at http://{address}/v1"
    );
    app.serve(listener, shutdown_signal()).await?;
    tracing::info!("rampart stopped cleanly");
    Ok(())
}

fn init_logging(filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| crate::usage(format!("invalid --log filter `{filter}`: {e}")))?;
    // Colour only on a terminal: piped logs (files, journald, CI) stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .init();
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what `kill` and orchestrators send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
