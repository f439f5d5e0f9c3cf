using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceGateway.Commands;

/// <summary>The fleet CA certificate (public) the gateway checks device identities against; read when first needed,
/// since the credentials service may create it after the gateway starts.</summary>
public sealed class FleetCa(IOptions<DeviceGatewayOptions> options) : IDisposable
{
    private X509Certificate2? _certificate;

    public X509Certificate2 Certificate
    {
        get
        {
            if (_certificate is { } loaded)
                return loaded;
            var path = Path.GetFullPath(options.Value.FleetCaCertificatePath);
            if (!File.Exists(path))
                throw new FileNotFoundException($"The fleet CA certificate {path} (DeviceGateway:FleetCaCertificatePath) does not exist.", path);
            return _certificate = X509CertificateLoader.LoadCertificateFromFile(path);
        }
    }

    public void Dispose() => _certificate?.Dispose();
}
