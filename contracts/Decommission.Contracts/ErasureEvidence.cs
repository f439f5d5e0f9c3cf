namespace Decommission.Contracts;

/// <summary>What a verified wipe receipt proves: keys destroyed, areas covered and not covered, the device's own check.</summary>
public record ErasureEvidence
{
    public string Method { get; init; } = "";
    public IReadOnlyList<string> DestroyedKeyIds { get; init; } = [];
    public IReadOnlyList<string> AreasCovered { get; init; } = [];
    public IReadOnlyList<string> AreasNotCovered { get; init; } = [];
    public bool SelfCheckPassed { get; init; }
    /// <summary>When the device says it completed the erase: its own clock, as signed in its receipt.</summary>
    public DateTimeOffset CompletedAt { get; init; }
    /// <summary>When the gateway received the receipt that verified, by the gateway's clock (its receipts.received_at). Stated by
    /// the gateway: not part of the device-signed receipt. Null in evidence from a gateway that did not record it.</summary>
    public DateTimeOffset? ReceiptReceivedAt { get; init; }
    public string ReceiptSha256 { get; init; } = "";
    /// <summary>The receipt exactly as the device sent it (base64): the certificates service verifies it itself.</summary>
    public string Receipt { get; init; } = "";
    /// <summary>The signed erase command exactly as it was sent to the device (base64 of its JSON).</summary>
    public string Command { get; init; } = "";
    /// <summary>The device's identity certificate (base64 DER), issued by the fleet CA over the attestation key that signed the receipt.</summary>
    public string IdentityCertificate { get; init; } = "";
}
