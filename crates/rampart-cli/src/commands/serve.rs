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
    config.header_timeout = at_least(args.header_timeout, 100, "--header-timeout")?;
    config.request_timeout = at_least(args.request_timeout, 100, "--request-timeout")?;
    config.shutdown_timeout = std::time::Duration::from_millis(args.shutdown_timeout.as_millis());
    if args.max_connections == 0 {
        return Err(crate::usage("--max-connections must be above 0"));
    }
    config.max_connections = args.max_connections;
    warn_if_file_limit_is_low(args.max_connections);
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
    let shutdown = shutdown_signal();
    let address = listener.local_addr()?;
    tracing::info!(
        %address,
        data_dir = %args.data_dir.display(),
        revision = app.revision(),
        "rampart is serving: OFREP at http://{address}/ofrep/v1, admin API at http://{address}/v1"
    );
    app.serve(listener, shutdown).await?;
    tracing::info!("rampart stopped cleanly");
    Ok(())
}

fn at_least(
    span: rampart_rollout::Span,
    min_ms: u64,
    option: &str,
) -> anyhow::Result<std::time::Duration> {
    if span.as_millis() < min_ms {
        return Err(crate::usage(format!(
            "{option} must be at least {min_ms}ms"
        )));
    }
    Ok(std::time::Duration::from_millis(span.as_millis()))
}

/// Each connection holds a file descriptor; if the open-file limit is below the connection
/// cap, the process runs out of descriptors before the cap can refuse anyone (and then can't
/// open its own database files). Linux only: reads `/proc/self/limits`.
fn warn_if_file_limit_is_low(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft_limit = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse::<usize>().ok());
    // Descriptors the server needs besides connections: database, WAL, logs, listener.
    const RESERVED: usize = 64;
    if let Some(soft_limit) = soft_limit
        && soft_limit < max_connections + RESERVED
    {
        tracing::warn!(
            soft_limit,
            max_connections,
            "the open-file limit is below --max-connections + {RESERVED}: raise it (ulimit -n {})              or lower --max-connections to {}",
            max_connections + RESERVED,
            soft_limit.saturating_sub(RESERVED)
        );
    }
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

/// Resolves on Ctrl-C or SIGTERM (what `kill` and orchestrators send). The handlers are
/// installed here, when called, not when the future is first polled: a signal that arrives
/// right after the server says it is serving must stop it cleanly, not kill it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |handler: std::io::Result<tokio::signal::unix::Signal>| async move {
                match handler {
                    Ok(mut signal) => {
                        signal.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            let (terminate, interrupt) = signals;
            tokio::select! {
                () = wait(terminate) => {},
                () = wait(interrupt) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}
