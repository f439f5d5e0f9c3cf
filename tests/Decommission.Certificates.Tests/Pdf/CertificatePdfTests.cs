using System.Text.RegularExpressions;
using Decommission.Certificates.Pdf;
using UglyToad.PdfPig;

namespace Decommission.Certificates.Tests.Pdf;

public sealed class CertificatePdfTests
{
    private static readonly CertificatePdf Pdf = new();

    private static readonly string[] Labels =
    [
        "Certificate ID", "Retirement ID",
        "Manufacturer", "Model", "Serial number", "Asset number", "Media type", "Media source", "Device ID",
        "Sanitization type", "Method", "Tool", "Tool version", "Verification method", "Verification result", "Post-sanitization destination",
        "Performed by", "Validated by", "Witness", "Requested at", "Sanitized at", "Issued at", "Location", "Reason", "Requested by",
        "Destroyed key IDs", "Areas covered", "Areas not covered", "Receipt SHA-256", "Credentials revoked", "Identity certificate serial",
    ];

    [Fact]
    public void A_purge_certificate_shows_every_label_with_its_value()
    {
        var document = SampleCertificates.Purge();
        var text = PdfText.Read(Pdf.Render(document));

        Assert.Contains(text.Lines, l => l == "Certificate of Sanitization");
        foreach (var section in new[] { "Media", "Sanitization", "Performed and validated", "Evidence", "Audit trail (8 entries)" })
            Assert.Contains(section, text.Lines);
        foreach (var label in Labels)
            text.LineWith(label);

        Assert.Equal($"Certificate ID {document.CertificateId}", text.LineWith("Certificate ID"));
        Assert.Equal($"Retirement ID {document.RetirementId}", text.LineWith("Retirement ID"));
        Assert.Equal("Manufacturer Acme Sensors GmbH", text.LineWith("Manufacturer"));
        Assert.Equal("Model AS-9000 Smart Meter", text.LineWith("Model"));
        Assert.Equal("Serial number SN-77A1-0042", text.LineWith("Serial number"));
        Assert.Equal("Asset number ASSET-2019-0042", text.LineWith("Asset number"));
        Assert.Equal("Media type eMMC flash, 8 GB (self-encrypting)", text.LineWith("Media type"));
        Assert.Equal("Media source Northwind Utilities, metering division", text.LineWith("Media source"));
        Assert.Equal("Device ID meter-0042", text.LineWith("Device ID"));
        Assert.Equal("Sanitization type Purge", text.LineWith("Sanitization type"));
        Assert.Equal("Tool version 1.4.2", text.LineWith("Tool version"));
        Assert.Equal("Witness none", text.LineWith("Witness"));
        Assert.Equal("Requested at 2025-03-04T09:30:00Z", text.LineWith("Requested at"));
        // The device's claimed time beside the gateway's own, each labelled with its clock.
        Assert.Equal("Command issued (gateway's clock) 2025-03-04T10:14:58Z", text.LineWith("Command issued (gateway's clock)"));
        Assert.Equal("Sanitized at (device's clock) 2025-03-04T10:15:42Z", text.LineWith("Sanitized at (device's clock)"));
        Assert.Equal("Receipt received (gateway's clock) 2025-03-04T10:15:44Z (not part of the device-signed receipt)",
            text.LineWith("Receipt received (gateway's clock)"));
        Assert.Equal("Issued at 2025-03-04T09:16:05Z", text.LineWith("Issued at")); // written in UTC whatever the offset given
        Assert.Equal("Location Substation 7, Rotterdam", text.LineWith("Location"));
        Assert.Equal("Reason End of life", text.LineWith("Reason"));
        Assert.Equal("Requested by operator:j.devries", text.LineWith("Requested by"));
        Assert.Equal("Identity certificate serial 4F1A9C33D2E07B5A", text.LineWith("Identity certificate serial"));
        // The evidence's digests and key ids, each whole on one line, as an auditor compares them with the JSON twin's.
        Assert.Equal($"Receipt SHA-256 {document.ReceiptSha256}", text.LineWith("Receipt SHA-256"));
        Assert.Equal($"Erase command SHA-256 {document.CommandSha256}", text.LineWith("Erase command SHA-256"));
        Assert.Equal($"Identity certificate SHA-256 {document.IdentityCertificateSha256}", text.LineWith("Identity certificate SHA-256"));
        Assert.Equal($"Device key ID (receipt) {document.DeviceKeyId}", text.LineWith("Device key ID (receipt)"));
        Assert.Equal($"Gateway key ID (command) {document.CommandKeyId}", text.LineWith("Gateway key ID (command)"));

        // Long values wrap within the value column; read as flowing text they are whole.
        foreach (var value in new[]
                 {
                     document.Method, document.Tool, document.VerificationMethod, document.VerificationResult,
                     document.PostSanitizationDestination, document.PerformedBy, document.ValidatedBy,
                 })
            Assert.Contains(value, text.Flowing);
        foreach (var item in document.DestroyedKeyIds.Concat(document.AreasCovered).Concat(document.AreasNotCovered).Concat(document.RevokedCredentials))
            Assert.Contains(item, text.Flowing);
        Assert.Equal("Areas not covered boot ROM (read-only, holds no user data)", text.LineWith("Areas not covered"));
        Assert.Equal("Credentials revoked CloudToken cred-7f3a revoked 2025-03-04 09:31:02Z", text.LineWith("Credentials revoked"));
        // A hash wider than the column is broken between characters, never cut.
        Assert.Contains(SampleCertificates.ReceiptSha256, text.Flowing.Replace(" ", ""));
        foreach (var entry in document.AuditTrail)
            Assert.Contains(entry, text.Flowing);
        Assert.DoesNotContain(text.Lines, l => l.Contains("more entries", StringComparison.Ordinal));
    }

    [Fact]
    public void A_destroy_certificate_shows_the_witness_and_no_receipt()
    {
        var document = SampleCertificates.Destroy();
        var text = PdfText.Read(Pdf.Render(document));

        foreach (var label in Labels)
            text.LineWith(label);
        Assert.Equal("Sanitization type Destroy", text.LineWith("Sanitization type"));
        Assert.Equal("Method Physical destruction: shredded to 2 mm particles", text.LineWith("Method"));
        Assert.Equal("Performed by Jan de Vries", text.LineWith("Performed by"));
        Assert.Equal("Validated by Aisha Khan", text.LineWith("Validated by"));
        Assert.Equal("Witness Aisha Khan", text.LineWith("Witness"));
        Assert.Equal("Location Shredding facility, Eindhoven", text.LineWith("Location"));
        Assert.Equal("Receipt SHA-256 none", text.LineWith("Receipt SHA-256"));
        Assert.Equal("Destroyed key IDs none", text.LineWith("Destroyed key IDs"));
        Assert.Equal("Areas not covered none", text.LineWith("Areas not covered"));
        Assert.DoesNotContain(text.Lines, l => l.Contains("clock)", StringComparison.Ordinal)); // no device, no gateway: the destruction's own time
        Assert.Contains("Verification result Recorded by Jan de Vries, witnessed by Aisha Khan", text.Flowing);
    }

    [Fact]
    public void Eighty_audit_entries_continue_on_page_two_and_end_by_counting_the_rest()
    {
        var document = SampleCertificates.Purge(auditEntries: 80);
        var bytes = Pdf.Render(document);
        var text = PdfText.Read(bytes);

        Assert.Equal(2, text.Pages.Count);
        var body = text.Pages[1].Where(l => !l.StartsWith("Certificate of Sanitization DC-", StringComparison.Ordinal)).ToList();
        var more = Regex.Match(body[^1], @"^… and (\d+) more entries, see the JSON record$");
        Assert.True(more.Success, $"page 2 should end with the count of entries left out, but ends with \"{body[^1]}\"");

        var printed = Regex.Matches(text.Flowing, @"\(step (\d{3}):").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.True(printed.Count > 10, $"only {printed.Count} entries printed");
        Assert.Equal(Enumerable.Range(1, printed.Count), printed); // the first N, in order, none skipped
        Assert.Equal(80, printed.Count + int.Parse(more.Groups[1].Value));
        foreach (var entry in document.AuditTrail.Take(printed.Count))
            Assert.Contains(entry, text.Flowing);
        Assert.Contains(text.Pages[0], l => l.StartsWith("2025-03-04 09:30:01Z Erasing → Erasing", StringComparison.Ordinal));
        Assert.Contains(text.Pages[1], l => l.StartsWith("2025-03-04", StringComparison.Ordinal));

        AssertNothingOutsideTheMargins(text);
    }

    [Fact]
    public void A_thousand_audit_entries_still_fit_two_pages()
    {
        var text = PdfText.Read(Pdf.Render(SampleCertificates.Purge(auditEntries: 1000)));

        Assert.Equal(2, text.Pages.Count);
        Assert.Contains(text.Pages[1], l => Regex.IsMatch(l, @"^… and \d{3} more entries, see the JSON record$"));
        AssertNothingOutsideTheMargins(text);
    }

    [Fact]
    public void Long_evidence_lists_flow_onto_the_next_page_instead_of_being_cut()
    {
        var keys = Enumerable.Range(1, 140).Select(i => $"media-key-slot-{i:000}").ToList();
        var document = SampleCertificates.Purge(auditEntries: 3) with { DestroyedKeyIds = keys };
        var text = PdfText.Read(Pdf.Render(document));

        Assert.True(text.Pages.Count >= 2);
        foreach (var key in keys)
            Assert.Contains(key, text.Lines.Select(l => l.Split(' ')[^1]));
        foreach (var entry in document.AuditTrail)
            Assert.Contains(entry, text.Flowing);
        AssertNothingOutsideTheMargins(text);
    }

    [Fact]
    public void Document_properties_name_the_certificate()
    {
        var document = SampleCertificates.Purge(auditEntries: 1);
        using var pdf = PdfDocument.Open(Pdf.Render(document));

        Assert.Equal($"Certificate of Sanitization {document.CertificateId}", pdf.Information.Title);
        Assert.Equal(document.CertificateId, pdf.Information.Subject);
        Assert.Equal("Decommission", pdf.Information.Author);
        Assert.Equal(1, pdf.NumberOfPages);
        Assert.Equal(595, pdf.GetPage(1).Width, 0);
        Assert.Equal(842, pdf.GetPage(1).Height, 0);
    }

    [Fact]
    public void The_unsigned_copy_says_so_and_the_signed_one_names_its_signer()
    {
        using var certificate = TestSigningCertificates.Rsa3072("Header Test Signer");
        var document = SampleCertificates.Purge();

        Assert.Contains("Unsigned copy", PdfText.Read(Pdf.Render(document)).Flowing);
        var signed = PdfText.Read(Pdf.Render(document, certificate)).Flowing;
        Assert.Contains("Digitally signed by CN=Header Test Signer", signed);
        Assert.DoesNotContain("Unsigned copy", signed);
    }

    [Fact]
    public void Many_certificates_render_at_once_each_with_its_own_facts()
    {
        using var rsa = TestSigningCertificates.Rsa3072();
        using var ecdsa = TestSigningCertificates.EcdsaP256();
        var ids = Enumerable.Range(0, 24).Select(_ => Guid.NewGuid()).ToList();
        var signers = new[] { rsa, null, ecdsa, null };

        var rendered = new byte[ids.Count][];
        Parallel.For(0, ids.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => rendered[i] = Pdf.Render(SampleCertificates.Purge(auditEntries: 10 + i, retirementId: ids[i]), signers[i % signers.Length]));

        for (var i = 0; i < ids.Count; i++)
        {
            var text = PdfText.Read(rendered[i]);
            Assert.Equal($"Retirement ID {ids[i]}", text.LineWith("Retirement ID"));
            Assert.Contains($"Audit trail ({10 + i} entries)", text.Lines);
            var check = PdfSignatureVerifier.Check(rendered[i]);
            Assert.Equal(i % 2 == 0, check.SignatureValid);
            Assert.Equal(signers[i % signers.Length]?.Thumbprint, check.Signer?.Thumbprint);
        }
    }

    private static void AssertNothingOutsideTheMargins(PdfText text)
    {
        for (var p = 0; p < text.Pages.Count; p++)
        {
            var (width, height) = text.PageSizes[p];
            foreach (var letter in text.Letters[p].Where(l => l.Value != " "))
            {
                var box = letter.BoundingBox;
                Assert.True(box.Left >= 56 && box.Right <= width - 56 && box.Bottom >= 20 && box.Top <= height - 40,
                    $"\"{letter.Value}\" on page {p + 1} at ({box.Left:0.#}, {box.Bottom:0.#})–({box.Right:0.#}, {box.Top:0.#}) is outside the margins");
            }
        }
    }
}
