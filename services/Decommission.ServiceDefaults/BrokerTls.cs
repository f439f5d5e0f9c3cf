using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MassTransit;

namespace Decommission.ServiceDefaults;

/// <summary>
/// TLS to the broker: an <c>amqps://</c> address is reached over TLS 1.2 or 1.3, and the broker's certificate must name the
/// host of the address and chain to the broker CA named in configuration (the local CA ops/pki.sh makes), not to whatever
/// the machine happens to trust. Without a CA file the system's trust store decides.
/// </summary>
public static class BrokerTls
{
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Configures MassTransit's RabbitMQ host for <paramref name="uri"/>: nothing for amqp://, TLS for amqps://.</summary>
    public static void Configure(IRabbitMqHostConfigurator host, Uri uri, string? brokerCaCertificatePath)
    {
        if (!IsTls(uri))
            return;
        var validate = ServerCertificateValidator(brokerCaCertificatePath);
        host.UseSsl(ssl =>
        {
            ssl.Protocol = Protocols;
            ssl.ServerName = uri.Host;
            if (validate is not null)
                ssl.CertificateValidationCallback = validate;
        });
    }

    public static bool IsTls(Uri uri) => uri.Scheme.Equals("amqps", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A validator that accepts a server certificate only when it names the host it was asked for and chains to the CA in
    /// <paramref name="caCertificatePath"/> (PEM); null (the system's trust) when no path is configured.
    /// </summary>
    public static RemoteCertificateValidationCallback? ServerCertificateValidator(string? caCertificatePath)
    {
        if (string.IsNullOrWhiteSpace(caCertificatePath))
            return null;
        if (!File.Exists(caCertificatePath))
            throw new FileNotFoundException($"The broker CA certificate {caCertificatePath} does not exist.", caCertificatePath);
        var ca = X509CertificateLoader.LoadCertificateFromFile(caCertificatePath);
        return (_, certificate, _, errors) => IsTrusted(certificate, errors, ca);
    }

    private static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2 ca)
    {
        // The name must match and a certificate must be there; only the chain is judged again, against our CA alone.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        // The broker's server certificate is short-lived and replaced, not revoked: ops/pki.sh publishes no CRL for it.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(presented);
    }
}
