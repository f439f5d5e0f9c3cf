namespace Decommission.Contracts;

/// <summary>The queues commands are sent to; the address is part of the protocol, shared by sender and receiver.</summary>
public static class QueueNames
{
    public const string RetireDevice = "retire-device";
    public const string RetirementStatus = "retirement-status";
    public const string Inventory = "inventory";
    public const string QuarantineDevice = "quarantine-device";
    public const string EraseDevice = "erase-device";
    public const string RegisterDeviceIdentities = "register-device-identities";
    /// <summary>The events the device gateway follows: quarantines (from credentials) and legal holds (from inventory).</summary>
    public const string DeviceGatewayEvents = "device-gateway-events";
    /// <summary>The retirement events the inventory follows to keep each device's status.</summary>
    public const string InventoryRetirements = "inventory-retirements";
    /// <summary>The events the credentials service follows: the inventory's admissions (it revokes only inside one).</summary>
    public const string CredentialsEvents = "credentials-events";
    public const string RevokeIdentity = "revoke-identity";
    public const string EnrollDevice = "enroll-device";
    public const string CheckCredential = "check-credential";
    public const string IssueDisposalCertificate = "issue-disposal-certificate";
    /// <summary>Campaign orders and queries, relayed by the certificates service for people its API authenticated.</summary>
    public const string Campaigns = "campaigns";
}
