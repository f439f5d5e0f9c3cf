using System.Security.Cryptography.X509Certificates;

namespace Decommission.Certificates.Pdf;

/// <summary>
/// What a PDF's last signature says about the file, without deciding whom to trust: the caller checks
/// <see cref="Signer"/> against its own authority.
/// </summary>
/// <param name="Signed">The file has a signature dictionary with a byte range.</param>
/// <param name="SignatureValid">The signature verifies over the signed bytes, and those are the whole file but the signature itself.</param>
/// <param name="Signer">The certificate the signature names, when it could be read.</param>
/// <param name="Problem">Why the file is not signed or the signature is not valid; empty when valid.</param>
public sealed record PdfSignatureCheck(bool Signed, bool SignatureValid, X509Certificate2? Signer, string Problem);
