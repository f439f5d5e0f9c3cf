using Decommission.Host;

// demo [--devices N] [--data DIR]   retire a simulated fleet end to end and print what happened
// serve [--data DIR]                run every service with the auditor API and page, and the CRL
return args switch
{
    ["demo", .. var rest] => await Demo.RunAsync(rest),
    ["serve", .. var rest] => await Serve.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Decommission.Host demo [--devices N] [--data DIR] | serve [--data DIR] [--urls http://127.0.0.1:5080]");
    return 2;
}
