using Sovereign.Cli;

// `sov`: the one entry point. Each command lives in Commands/; CliApp wires them and turns errors into
// one line on stderr and a non-zero exit code.
return await CliApp.RunAsync(args);
