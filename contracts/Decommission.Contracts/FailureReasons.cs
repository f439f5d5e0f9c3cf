namespace Decommission.Contracts;

/// <summary>Why a retirement failed, besides the receipt rejection reasons the device gateway reports.</summary>
public static class FailureReasons
{
    public const string DeviceUnreachable = "DeviceUnreachable";
    public const string QuarantineRefused = "QuarantineRefused";
    public const string ReceiptRejected = "ReceiptRejected";
    /// <summary>The certificates service could not verify the evidence itself and issued no certificate.</summary>
    public const string CertificateRefused = "CertificateRefused";
}
