use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = querygate::cli::Cli::from_args();
    let result = cli.into_config().and_then(|config| {
        // One thread: the measured loop has no cross-thread wake-ups (closer to pgbench).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| querygate::Error::Infra(e.into()))?;
        rt.block_on(querygate::run(config, &mut std::io::stdout().lock()))
    });
    querygate::error::exit(result)
}
