using Decommission.Cli;

return await DecomCli.RunAsync(args, Console.Out, Console.Error);
