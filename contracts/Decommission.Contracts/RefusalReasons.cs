namespace Decommission.Contracts;

/// <summary>Why a retirement or one of its steps was refused.</summary>
public static class RefusalReasons
{
    public const string UnknownDevice = "UnknownDevice";
    public const string AlreadyDisposed = "AlreadyDisposed";
    public const string AlreadyRetiring = "AlreadyRetiring";
    public const string LegalHold = "LegalHold";
}
