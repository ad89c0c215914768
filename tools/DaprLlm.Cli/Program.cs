using DaprLlm.Cli;
using Spectre.Console;

// Results on stdout, errors on stderr: `daprllm keys create ... | jq` must not read an error as data.
var errors = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
return await CliApp.RunAsync(args, AnsiConsole.Console, errors);
