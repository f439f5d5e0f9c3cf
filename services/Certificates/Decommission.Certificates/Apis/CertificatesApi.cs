using Decommission.Contracts;
using System.Globalization;
using System.Security.Claims;
using Decommission.Certificates.Issuing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Apis;

public static class CertificatesApi
{
    public const int MaxPageSize = 200;
    /// <summary>Room for the multipart envelope around an upload of the largest PDF accepted.</summary>
    private const int MultipartAllowance = 64 * 1024;

    /// <summary>The auditor API and its OpenAPI document (API key required), and the auditor page.</summary>
    public static IEndpointRouteBuilder MapCertificatesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(ApiRoles.ReadPolicy);
        api.MapGet("/certificates", List).WithName("ListCertificates");
        api.MapGet("/certificates/{id}", GetJson).WithName("GetCertificate");
        api.MapGet("/certificates/{id}/pdf", GetPdf).WithName("DownloadCertificatePdf");
        api.MapPost("/certificates/verify", Verify).RequireAuthorization(ApiRoles.AuditPolicy).DisableAntiforgery().WithName("VerifyCertificate");
        api.MapGet("/access-log", GetAccessLog).RequireAuthorization(ApiRoles.AuditPolicy).WithName("GetAccessLog");

        app.MapOpenApi("/openapi/{documentName}.json").RequireAuthorization(ApiRoles.ReadPolicy);

        app.MapDestructionsApi();
        app.MapCampaignsApi();
        app.MapRetirementsApi();

        // The page is a shell without data: it asks for an API key and calls the API with it.
        app.MapGet("/", () => Results.Content(AuditorPage.Html, "text/html; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/auditor.js", () => Results.Content(AuditorPage.Script, "text/javascript; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/auditor.css", () => Results.Content(AuditorPage.Style, "text/css; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        // The operator's dashboard, the same kind of shell (campaigns through the API with the operator's key).
        app.MapGet("/operator", () => Results.Content(OperatorPage.Html, "text/html; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/operator.js", () => Results.Content(OperatorPage.Script, "text/javascript; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/operator.css", () => Results.Content(OperatorPage.Style, "text/css; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    public sealed record CertificateSummary(string CertificateId, Guid RetirementId, string DeviceId, string SanitizationType, DateTimeOffset IssuedAt,
        string PdfSha256);

    public sealed record CertificatePage(IReadOnlyList<CertificateSummary> Items, string? NextCursor);

    private static async Task<IResult> List(CertificateStore certificates, string? deviceId, DateTimeOffset? from, DateTimeOffset? to, string? method,
        string? cursor, int? limit, CancellationToken cancellationToken)
    {
        var size = Math.Clamp(limit ?? 50, 1, MaxPageSize);
        long after = 0;
        if (!string.IsNullOrEmpty(cursor) && !long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out after))
            return Results.Problem("cursor is not one this API returned", statusCode: StatusCodes.Status400BadRequest);
        if (method is not null and not (SanitizationTypes.Purge or SanitizationTypes.Destroy))
            return Results.Problem("method must be Purge or Destroy", statusCode: StatusCodes.Status400BadRequest);

        var rows = await certificates.PageAsync(deviceId, from, to, method, after, size + 1, cancellationToken);
        var items = rows.Take(size).Select(r => new CertificateSummary(r.CertificateId, r.RetirementId, r.DeviceId, r.SanitizationType, r.IssuedAt, r.PdfSha256)).ToList();
        var next = rows.Count > size ? rows[size - 1].Seq.ToString(CultureInfo.InvariantCulture) : null;
        return Results.Ok(new CertificatePage(items, next));
    }

    private static async Task<IResult> GetJson(string id, CertificateStore certificates, CertificateArchive archive, AccessLog log, ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        var record = await certificates.FindAsync(id, cancellationToken);
        await log.WriteAsync(user, "read-json", id, record is null ? "not found" : "ok", cancellationToken);
        return record is null ? Results.NotFound() : Results.File(await archive.ReadJsonAsync(record, cancellationToken), "application/json");
    }

    private static async Task<IResult> GetPdf(string id, CertificateStore certificates, CertificateArchive archive, AccessLog log, ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        var record = await certificates.FindAsync(id, cancellationToken);
        await log.WriteAsync(user, "download-pdf", id, record is null ? "not found" : "ok", cancellationToken);
        return record is null
            ? Results.NotFound()
            : Results.File(await archive.ReadPdfAsync(record, cancellationToken), "application/pdf", $"{record.CertificateId}.pdf");
    }

    /// <summary>
    /// Upload a PDF (multipart field "file", or the raw body as application/pdf), up to Certificates:MaxVerifyUploadBytes.
    /// An upload is read only once it has a verification slot, so uploads waiting for one hold no memory.
    /// </summary>
    private static async Task<IResult> Verify(HttpContext http, CertificateVerification verification, VerificationGate gate, IOptions<CertificatesOptions> options,
        AccessLog log, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var cap = options.Value.MaxVerifyUploadBytes;
        var tooLarge = Results.Problem($"the file is larger than the {cap} bytes ({cap / (1024.0 * 1024):0.#} MiB) a certificate may have",
            statusCode: StatusCodes.Status413PayloadTooLarge);
        if (http.Request.ContentLength > cap + MultipartAllowance)
            return tooLarge;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = cap + MultipartAllowance;

        using var slot = await gate.EnterAsync(cancellationToken);
        if (slot is null)
        {
            http.Response.Headers.RetryAfter = "5";
            return Results.Problem("too many verifications at once; try again shortly", statusCode: StatusCodes.Status429TooManyRequests);
        }

        int length;
        try
        {
            length = await ReadUploadAsync(http.Request, slot.Buffer, cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return tooLarge;
        }
        catch (InvalidDataException)
        {
            // The form reader's own limits (multipart section lengths).
            return tooLarge;
        }
        switch (length)
        {
            case TooLarge:
                return tooLarge;
            case NoFile:
                return Results.Problem("upload the PDF as form field \"file\"", statusCode: StatusCodes.Status400BadRequest);
        }

        var result = await verification.VerifyAsync(slot.Buffer.AsMemory(0, length), cancellationToken);
        await log.WriteAsync(user, "verify", result.CertificateId, result.Verdict, cancellationToken);
        return Results.Ok(result);
    }

    private const int TooLarge = -1;
    private const int NoFile = -2;

    /// <summary>Reads the uploaded file into the slot's buffer (as large as the cap); its length, or <see cref="TooLarge"/> or <see cref="NoFile"/>.</summary>
    private static async Task<int> ReadUploadAsync(HttpRequest request, byte[] buffer, CancellationToken cancellationToken)
    {
        Stream source;
        IAsyncDisposable? owned = null;
        if (request.HasFormContentType)
        {
            // Files in a form are buffered on disk beyond 64 KiB, not in memory.
            var form = await request.ReadFormAsync(cancellationToken);
            if (form.Files.GetFile("file") is not { } file)
                return NoFile;
            if (file.Length > buffer.Length)
                return TooLarge;
            owned = source = file.OpenReadStream();
        }
        else
        {
            if (request.ContentLength > buffer.Length)
                return TooLarge;
            source = request.Body;
        }
        await using (owned)
        {
            var length = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                // Full: one more byte means over the cap.
                if (length == buffer.Length && await source.ReadAsync(new byte[1], cancellationToken) > 0)
                    return TooLarge;
            }
            return length;
        }
    }

    private static async Task<IResult> GetAccessLog(AccessLog log, [FromQuery] int? limit, CancellationToken cancellationToken) =>
        Results.Ok(await log.RecentAsync(Math.Clamp(limit ?? 100, 1, 1000), cancellationToken));
}
