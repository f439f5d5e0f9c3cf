using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.ServiceDefaults;
using Decommission.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Deployment.Tests;

/// <summary>The services' own broker connections over TLS (amqps://): the broker's certificate must chain to the configured CA.</summary>
public sealed class BrokerTlsTests
{
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_service_configured_with_an_amqps_address_and_the_broker_CA_exchanges_messages_over_TLS()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var service = await ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
        {
            Bus = TestBus.RabbitMq,
            AddService = builder => builder.Services.AddSingleton(received),
            PlayedServices = bus => bus.AddConsumer<PingConsumer>().Endpoint(e => e.Name = $"tls-ping-{Guid.NewGuid():N}"),
            Overrides = new Dictionary<string, string?>
            {
                ["Bus:RabbitMqUri"] = AmqpsUri("127.0.0.1").ToString(),
                ["Bus:BrokerCaCertificatePath"] = BrokerCa,
            },
        });

        var text = $"over TLS {Guid.NewGuid():N}";
        await service.Bus.Publish(new TlsPing { Text = text });

        Assert.Equal(text, await received.Task.WaitAsync(StartLimit));
    }

    [Fact]
    public async Task A_broker_whose_certificate_does_not_chain_to_the_configured_CA_is_refused()
    {
        var otherCa = Path.Combine(Path.GetTempPath(), $"decom-other-ca-{Guid.NewGuid():N}.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=Decommission broker CA", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(otherCa, ca.ExportCertificatePem());
        }
        try
        {
            var error = await StartFailureAsync(AmqpsUri("127.0.0.1"), otherCa);
            Assert.Contains("certificate", error, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            File.Delete(otherCa);
        }
    }

    private static async Task<string> StartFailureAsync(Uri uri, string caPath)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(uri, host =>
        {
            host.RequestedConnectionTimeout(TimeSpan.FromSeconds(5));
            BrokerTls.Configure(host, uri, caPath);
        }));
        // MassTransit retries a refused connection until start-up is cancelled; the fault it then reports is the first attempt's.
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        try
        {
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => bus.StartAsync(limit.Token));
            return Flatten(failure);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    private static string Flatten(Exception e) => e.InnerException is null ? $"{e.GetType().Name}: {e.Message}" : $"{e.GetType().Name}: {e.Message} / {Flatten(e.InnerException)}";

    private static string BrokerCa => Path.Combine(Required("DECOM_TEST_PKI_DIR"), "ca.crt");

    private static Uri AmqpsUri(string host) =>
        new UriBuilder(RabbitMqNode.Uri) { Scheme = "amqps", Host = host, Port = int.Parse(Required("DECOM_TEST_AMQPS_PORT")) }.Uri;

    private static string Required(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"{variable} is not set: this test needs the RabbitMQ node ops/test.sh starts. Run the tests with ops/test.sh.");

    public sealed record TlsPing
    {
        public string Text { get; init; } = "";
    }

    public sealed class PingConsumer(TaskCompletionSource<string> received) : IConsumer<TlsPing>
    {
        public Task Consume(ConsumeContext<TlsPing> context)
        {
            received.TrySetResult(context.Message.Text);
            return Task.CompletedTask;
        }
    }
}
