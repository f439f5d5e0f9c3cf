using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Contracts;
using Decommission.Credentials.Revocation;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Provisioning;

/// <summary>
/// The fleet-wide part of every device's provisioning bundle, read afresh for each enrollment (the gateway may have made
/// or rotated its key since): the fleet CA, the broker's CA, the gateway's command-signing public keys, the MQTT servers.
/// Throws when a configured file is missing or unreadable, before anything is enrolled.
/// </summary>
public sealed class ProvisioningMaterial(FleetCertificateAuthority ca, IOptions<ProvisioningOptions> options)
{
    public bool IsConfigured => options.Value.IsConfigured;

    /// <summary>Null when devices are not provisioned here.</summary>
    public async Task<DeviceProvisioning?> ReadAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.IsConfigured)
            return null;
        var brokerCa = await File.ReadAllTextAsync(settings.BrokerCaCertificatePath!, cancellationToken);
        using (X509Certificate2.CreateFromPem(brokerCa))
        {
            // Only checks that it is a certificate: devices get the file as it is.
        }
        var keys = new List<ProvisionedSigningKey>();
        foreach (var (path, index) in settings.CommandSigningPublicKeyPaths.Select((p, i) => (p, i)))
        {
            // A next key exists only during a rotation.
            if (index > 0 && !File.Exists(path))
                continue;
            using var key = ECDsa.Create();
            key.ImportFromPem(await File.ReadAllTextAsync(path, cancellationToken));
            var publicKey = key.ExportSubjectPublicKeyInfo();
            keys.Add(new ProvisionedSigningKey
            {
                KeyId = ProtocolSigning.KeyId(publicKey),
                PublicKey = Convert.ToBase64String(publicKey),
                Status = index == 0 ? "current" : "next",
            });
        }
        return new DeviceProvisioning
        {
            FleetCaCertificate = ca.Certificate.ExportCertificatePem(),
            BrokerCaCertificate = brokerCa,
            CommandSigningKeys = keys.DistinctBy(k => k.KeyId).ToList(),
            MqttServers = settings.MqttServers,
        };
    }

}
