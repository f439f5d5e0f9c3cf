using Decommission.Contracts;
using Decommission.DeviceProtocol;

namespace Decommission.Cli;

/// <summary>Provisioning bundles from an enrollment answer, one file per device, each written whole or not at all.</summary>
public static class ProvisioningBundles
{
    /// <summary>A device's bundle: its identity certificate with what the enrollment answer gives every device.</summary>
    public static ProvisioningBundle For(DeviceEnrolled device, DeviceProvisioning provisioning) =>
        ProvisioningBundle.For(device.DeviceId, device.IdentityCertificate, provisioning.FleetCaCertificate, provisioning.BrokerCaCertificate,
            [.. provisioning.CommandSigningKeys.Select(k => new CommandSigningPublicKey { KeyId = k.KeyId, PublicKey = k.PublicKey, Status = k.Status })],
            provisioning.MqttServers);

    /// <summary>
    /// Writes DIR/&lt;deviceId&gt;.json for each device: to a temporary file in DIR, then renamed over the name, so a device
    /// agent watching DIR never reads half a bundle. Public material only: ordinary file permissions.
    /// </summary>
    public static void Write(string directory, IEnumerable<DeviceEnrolled> devices, DeviceProvisioning provisioning)
    {
        Directory.CreateDirectory(directory);
        foreach (var device in devices)
        {
            var path = Path.Combine(directory, ProvisioningBundle.FileName(device.DeviceId));
            // Enrollment admits only letters, digits and - _ . : in a device id: nothing that leaves DIR.
            if (Path.GetDirectoryName(Path.GetFullPath(path)) != Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar))
                throw new CliFailure(ExitCodes.Failed, $"device id {device.DeviceId} is not a file name");
            var temporary = Path.Combine(directory, $".{Guid.NewGuid():N}.tmp");
            File.WriteAllText(temporary, For(device, provisioning).ToJson());
            File.Move(temporary, path, overwrite: true);
        }
    }
}
