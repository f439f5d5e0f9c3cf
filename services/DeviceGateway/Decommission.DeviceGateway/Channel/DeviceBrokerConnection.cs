using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using RabbitMQ.Client;

namespace Decommission.DeviceGateway.Channel;

/// <summary>How the gateway reaches the device broker: AMQP over TLS, the broker's certificate checked against the configured
/// CA (never the machine's store, never "accept any"); plain AMQP only when the URI says amqp://.</summary>
public static class DeviceBrokerConnection
{
    public static ConnectionFactory Factory(DeviceGatewayOptions options)
    {
        var factory = new ConnectionFactory
        {
            Uri = options.DeviceBrokerUri,
            ClientProvidedName = "decommission-device-gateway",
            AutomaticRecoveryEnabled = true,
        };
        if (options.DeviceBrokerUri.Scheme == "amqps")
        {
            // The URI has set Enabled and ServerName (its host): the certificate must name that host and chain to our CA.
            var ca = X509CertificateLoader.LoadCertificateFromFile(options.DeviceBrokerCaCertificatePath!);
            factory.Ssl.CertificateValidationCallback = (_, certificate, _, errors) => IssuedBy(ca, certificate, errors);
        }
        return factory;
    }

    /// <summary>True when <paramref name="certificate"/> names the host we dialled and chains to <paramref name="ca"/> alone.</summary>
    public static bool IssuedBy(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        // A chain error is expected (our CA is in no system store) and decided below; a wrong name or no certificate is not.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        using var leaf = new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}
