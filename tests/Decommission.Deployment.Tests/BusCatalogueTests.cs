using Decommission.Topology;

namespace Decommission.Deployment.Tests;

/// <summary>Everything that describes the broker is derived from the bus catalogue, or checked against it here.</summary>
public sealed class BusCatalogueTests
{
    private readonly ComposeFile _compose = ComposeFile.Load();

    [Fact]
    public void The_committed_compose_broker_definitions_are_the_catalogues()
    {
        var committed = File.ReadAllText(Path.Combine(Repository.Root, BrokerDefinitions.RelativePath)).ReplaceLineEndings("\n");
        Assert.True(committed == BrokerDefinitions.Json(),
            $"{BrokerDefinitions.RelativePath} is stale: dotnet run --project contracts/Decommission.Topology -- definitions > {BrokerDefinitions.RelativePath}");
    }

    [Fact]
    public void The_READMEs_table_of_who_may_send_what_is_the_catalogues()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md")).ReplaceLineEndings("\n");
        var begin = readme.IndexOf(PermissionTable.Begin, StringComparison.Ordinal);
        var end = readme.IndexOf(PermissionTable.End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "README.md has no generated bus catalogue table");
        Assert.True(readme[begin..(end + PermissionTable.End.Length + 1)] == PermissionTable.Markdown(),
            "README.md's table is stale: dotnet run --project contracts/Decommission.Topology -- table");
    }

    [Fact]
    public void The_deadline_the_orchestrator_raises_for_itself_is_named_as_its_type()
    {
        Assert.Equal(MessageType.Of<Orchestrator.Deadlines.RetirementDeadlineReached>(), BusCatalogue.RetirementDeadlineReached);
    }

    [Theory]
    [MemberData(nameof(ServiceNames))]
    public void Each_compose_service_connects_as_its_own_catalogue_user_without_declaring_consume_topology(string name)
    {
        var process = BusCatalogue.Named(name);
        var service = _compose.Services.GetValueOrDefault(name);
        Assert.True(service is not null, $"no compose service {name} (the catalogue's name for it)");

        var brokerUris = service.Environment.Where(e => e.Key.EndsWith("RabbitMqUri", StringComparison.Ordinal) || e.Key.EndsWith("BrokerUri", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(brokerUris);
        Assert.All(brokerUris, e => Assert.Equal(process.Name, Uri.UnescapeDataString(new Uri(e.Value).UserInfo.Split(':')[0])));
        Assert.Equal("false", service.Environment.GetValueOrDefault("Bus__DeclareConsumeTopology"));
    }

    [Fact]
    public void Compose_gives_the_broker_the_catalogues_definitions_and_every_services_password()
    {
        var broker = _compose.Broker;
        var definitions = Path.GetFullPath(Path.Combine(Repository.Root, BrokerDefinitions.RelativePath));
        Assert.Contains(broker.Volumes, v => Path.GetFullPath(Path.Combine(_compose.Directory, v.Source)) == definitions);
        foreach (var process in BusCatalogue.Services)
        {
            var password = broker.Environment.GetValueOrDefault(BrokerPasswordVariable(process));
            Assert.False(string.IsNullOrEmpty(password), $"the broker is not given {process}'s password ({BrokerPasswordVariable(process)})");
            var uri = new Uri(_compose.Services[process.Name].Environment["Bus__RabbitMqUri"]);
            Assert.Equal(password, Uri.UnescapeDataString(uri.UserInfo.Split(':')[1]));
        }
    }

    [Fact]
    public async Task The_all_in_one_host_consumes_what_the_catalogue_says_on_the_queues_it_says()
    {
        var data = Directory.CreateTempSubdirectory("decommission-catalogue-").FullName;
        try
        {
            var builder = Host.AllInOne.CreateBuilder([], data, new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:0" });
            await using var app = builder.Build();
            var endpoints = MassTransitEndpoints.Of(app.Services);

            var expected = BusCatalogue.Services.SelectMany(p => p.Consumes)
                .ToDictionary(q => q.Name, q => q.Messages.Select(m => m.ExchangeName).Order().ToList());
            Assert.Equal(expected.Keys.Order(), endpoints.Keys.Order());
            foreach (var (queue, messages) in expected)
                Assert.True(messages.SequenceEqual(endpoints[queue].Order()),
                    $"{queue}: the catalogue says {string.Join(", ", messages)}; the host consumes {string.Join(", ", endpoints[queue].Order())}");
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    public static TheoryData<string> ServiceNames() => [.. BusCatalogue.Services.Select(p => p.Name)];

    /// <summary>docker-compose.yml hands the broker each user's password as BROKER_PASSWORD_&lt;USER&gt;.</summary>
    public static string BrokerPasswordVariable(BusProcess process) => "BROKER_PASSWORD_" + process.Name.ToUpperInvariant().Replace('-', '_');
}
