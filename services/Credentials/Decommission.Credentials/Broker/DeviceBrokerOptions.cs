namespace Decommission.Credentials.Broker;

/// <summary>
/// Bound from "Credentials:DeviceBroker": the RabbitMQ management API through which the credentials service makes and
/// removes each device's broker identity. Without a <see cref="ManagementUri"/> (the embedded demo has no broker) no
/// broker identity is managed.
/// </summary>
public sealed class DeviceBrokerOptions
{
    public const string Section = "Credentials:DeviceBroker";

    /// <summary>
    /// e.g. http://127.0.0.1:15672/ — the management plugin's listener; on a cluster every node's, comma-separated
    /// (http://a:15672/,http://b:15672/): each node's API manages the whole cluster, so a call a node does not answer goes to
    /// the next (<see cref="ManagementUris"/>).
    /// </summary>
    public string? ManagementUri { get; set; }

    /// <summary>The management API's base addresses (…/api/), in the order <see cref="ManagementUri"/> gives them.</summary>
    public IReadOnlyList<Uri> ManagementUris =>
        (ManagementUri ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(uri => Uri.TryCreate(uri.TrimEnd('/') + "/api/", UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"
                ? parsed
                : throw new InvalidOperationException($"{Section}:ManagementUri: '{uri}' is not an http(s) address"))
            .ToList();

    /// <summary>The credentials service's own management user: an administrator (user management needs the tag), used by nobody else.</summary>
    public string Username { get; set; } = "";

    /// <summary>Its password; prefer <see cref="PasswordFile"/>. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>A file holding the password (first line), owner-only.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>The devices' virtual host (the MQTT plugin's mqtt.vhost).</summary>
    public string VirtualHost { get; set; } = "iot";

    /// <summary>How long one management API call may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ManagementUri);

    /// <summary>The password from the setting or the file; throws when neither gives one.</summary>
    public string ResolvePassword()
    {
        if (!string.IsNullOrEmpty(Password))
            return Password;
        if (!string.IsNullOrEmpty(PasswordFile))
            return File.ReadLines(PasswordFile).FirstOrDefault()?.Trim()
                   ?? throw new InvalidOperationException($"{Section}:PasswordFile {PasswordFile} is empty");
        throw new InvalidOperationException($"{Section}:ManagementUri is set but neither {Section}:Password nor {Section}:PasswordFile");
    }
}
