using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceAgent;

/// <summary>
/// Where enrollment writes each device's bundle, <c>&lt;deviceId&gt;.json</c> (written whole, then renamed into place).
/// A bundle that cannot be this device's (unreadable, another device's, a certificate over another key) is reported once
/// per version of the file, and the device stays offline.
/// </summary>
internal sealed class ProvisioningDirectory(string path, ILogger<ProvisioningDirectory> logger)
{
    private readonly Dictionary<string, DateTime> _refused = [];

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>The bundles of <paramref name="pending"/> devices that are there now.</summary>
    public List<(DeviceIdentityKey Key, ProvisioningBundle Bundle)> Read(IEnumerable<DeviceIdentityKey> pending)
    {
        var found = new List<(DeviceIdentityKey, ProvisioningBundle)>();
        if (!Directory.Exists(Path))
            return found;
        foreach (var key in pending)
        {
            var file = System.IO.Path.Combine(Path, ProvisioningBundle.FileName(key.Id));
            var written = File.GetLastWriteTimeUtc(file);
            // GetLastWriteTimeUtc answers 1601-01-01 for a file that is not there.
            if (written.Year == 1601 || _refused.GetValueOrDefault(key.Id) == written)
                continue;
            string? problem;
            ProvisioningBundle? bundle = null;
            try
            {
                (bundle, problem) = ProvisioningBundle.Parse(File.ReadAllText(file));
                problem ??= key.Mismatch(bundle!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException
                                           or ArgumentException or FormatException)
            {
                problem = e.Message;
            }
            if (problem is null)
            {
                found.Add((key, bundle!));
                continue;
            }
            _refused[key.Id] = written;
            logger.LogError("Device {DeviceId} stays offline: its bundle {File} is refused: {Problem}", key.Id, file, problem);
        }
        return found;
    }
}
