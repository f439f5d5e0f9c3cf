using System.Globalization;
using System.Security.Cryptography;
using CsvHelper;
using CsvHelper.Configuration;
using Decommission.Contracts;
using Decommission.Credentials.Broker;
using Decommission.Credentials.Revocation;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Enrollment;

/// <summary>
/// Enrolls devices: an identity certificate over each attestation key, fresh operational secrets stored only as salted
/// hashes, a network segment. A batch is all or nothing: every row is checked first and problems are reported by line.
/// </summary>
public sealed class DeviceEnrollment(EnrolledDeviceStore devices, RevocationStore revocations, FleetCertificateAuthority ca,
    IdentityRegistration gateway, DeviceBrokerIdentities broker, IOptions<CredentialsOptions> options, TimeProvider clock)
{
    public const int MaxIdLength = 128;
    private readonly SecretHasher _hasher = new(options.Value.KdfIterations);

    public static readonly string[] CredentialKinds = ["CloudToken", "ApiKey", "AdminPassword"];

    /// <summary>Reads deviceId,attestationPublicKey,networkSegment rows; line numbers count the header as line 1.</summary>
    public static (List<(int Line, EnrollDevice Request)> Rows, List<LineProblem> Problems) ReadCsv(string csv, string requestedBy)
    {
        var rows = new List<(int, EnrollDevice)>();
        var problems = new List<LineProblem>();
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture) { TrimOptions = TrimOptions.Trim, MissingFieldFound = null, BadDataFound = null };
        using var reader = new CsvReader(new StringReader(csv), configuration);
        if (!reader.Read() || !reader.ReadHeader())
            return (rows, [new LineProblem { Line = 1, Problem = "the file is empty; expected a header deviceId,attestationPublicKey,networkSegment" }]);
        foreach (var column in new[] { "deviceId", "attestationPublicKey", "networkSegment" })
            if (!reader.HeaderRecord!.Contains(column, StringComparer.OrdinalIgnoreCase))
                problems.Add(new LineProblem { Line = 1, Problem = $"the header has no column {column}" });
        if (problems.Count > 0)
            return (rows, problems);

        while (reader.Read())
        {
            var line = reader.Parser.RawRow;
            rows.Add((line, new EnrollDevice
            {
                DeviceId = Field(reader, "deviceId"),
                AttestationPublicKey = Field(reader, "attestationPublicKey"),
                NetworkSegment = Field(reader, "networkSegment"),
                RequestedBy = requestedBy,
            }));
        }
        return (rows, problems);
    }

    /// <summary>Enrolls all the requests, or none of them when any is invalid.</summary>
    public async Task<(IReadOnlyList<DeviceEnrolled> Enrolled, IReadOnlyList<LineProblem> Problems)> EnrollAsync(
        IReadOnlyList<(int Line, EnrollDevice Request)> requests, CancellationToken cancellationToken)
    {
        var deviceIds = requests.Select(r => r.Request.DeviceId).Distinct(StringComparer.Ordinal).ToList();
        var enrolledBefore = await devices.AlreadyEnrolledAsync(deviceIds, cancellationToken);
        var retired = await revocations.RetiredAsync(deviceIds, cancellationToken);
        var problems = new List<LineProblem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var keys = new Dictionary<int, byte[]>();
        foreach (var (line, request) in requests)
        {
            var problem = Validate(request, out var key) ?? broker.Problem(request.DeviceId);
            if (problem is null && !seen.Add(request.DeviceId))
                problem = $"device {request.DeviceId} appears twice in this file";
            if (problem is null && retired.TryGetValue(request.DeviceId, out var revoked))
                problem = $"device {request.DeviceId} is retired: its identity certificate {revoked.Serial} was revoked at {revoked.RevokedAt:O} "
                          + $"(CRL {revoked.CrlNumber}); a retired device id cannot enroll again";
            if (problem is null && enrolledBefore.Contains(request.DeviceId))
                problem = $"device {request.DeviceId} is already enrolled";
            if (problem is not null)
                problems.Add(new LineProblem { Line = line, Problem = problem });
            else
                keys[line] = key!;
        }
        if (problems.Count > 0 || requests.Count == 0)
            return ([], problems.Count > 0 ? problems : [new LineProblem { Line = 0, Problem = "no devices to enroll" }]);

        // The secrets' hashes are what costs (PBKDF2): computed on every core before the write transaction opens.
        var secretsOf = new (DeviceSecrets Secrets, string[] Hashes)[requests.Count];
        Parallel.For(0, requests.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var secrets = new DeviceSecrets
            {
                CloudToken = SecretHasher.NewSecret("ct_"),
                ApiKey = SecretHasher.NewSecret("ak_"),
                AdminPassword = SecretHasher.NewSecret(""),
            };
            secretsOf[i] = (secrets, [_hasher.Hash(secrets.CloudToken), _hasher.Hash(secrets.ApiKey), _hasher.Hash(secrets.AdminPassword)]);
        });

        var now = clock.GetUtcNow();
        var certificates = requests.Select(r => ca.IssueIdentity(r.Request.DeviceId, keys[r.Line], now)).ToList();
        try
        {
            return await EnrollIssuedAsync(requests, secretsOf, certificates, now, cancellationToken);
        }
        finally
        {
            foreach (var certificate in certificates)
                certificate.Dispose();
        }
    }

    private async Task<(IReadOnlyList<DeviceEnrolled> Enrolled, IReadOnlyList<LineProblem> Problems)> EnrollIssuedAsync(
        IReadOnlyList<(int Line, EnrollDevice Request)> requests,
        (DeviceSecrets Secrets, string[] Hashes)[] secretsOf, List<System.Security.Cryptography.X509Certificates.X509Certificate2> certificates,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The gateway must hold each device's identity before enrollment says yes: a receipt is verified only against it.
        // Nothing is committed here unless the gateway took every one; it refuses a device it already knows with another key.
        var refused = await gateway.RegisterAsync(
            requests.Zip(certificates, (r, c) => new DeviceIdentity { DeviceId = r.Request.DeviceId, IdentityCertificate = Convert.ToBase64String(c.RawData) }).ToList(),
            $"enrollment by {requests[0].Request.RequestedBy}", cancellationToken);
        if (refused.Count > 0)
        {
            var lineOf = requests.ToDictionary(r => r.Request.DeviceId, r => r.Line, StringComparer.Ordinal);
            return ([], refused.Select(r => new LineProblem
            {
                Line = lineOf.GetValueOrDefault(r.DeviceId),
                Problem = $"the device gateway refused {r.DeviceId}: {r.Reason}",
            }).ToList());
        }

        var enrolled = new List<DeviceEnrolled>(requests.Count);
        var added = new List<NewEnrolledDevice>(requests.Count);
        foreach (var (((_, request), (secrets, hashes)), certificate) in requests.Zip(secretsOf).Zip(certificates))
        {
            added.Add(new NewEnrolledDevice(request.DeviceId, certificate.PublicKey.ExportSubjectPublicKeyInfo(), certificate.SerialNumber, certificate.RawData,
                request.NetworkSegment, request.RequestedBy, [.. CredentialKinds.Zip(hashes)]));
            enrolled.Add(new DeviceEnrolled
            {
                DeviceId = request.DeviceId,
                IdentityCertificateSerial = certificate.SerialNumber,
                IdentityCertificate = certificate.ExportCertificatePem(),
                Secrets = secrets,
            });
        }
        // Before the commit: if the broker fails, nothing is enrolled and the request can simply be made again.
        await broker.AddAsync(added.Select(d => d.DeviceId).ToList(), cancellationToken);
        var taken = await devices.AddAsync(added, now, cancellationToken);
        if (taken.Count > 0)
        {
            // Another enrollment of the same id (another replica) committed first: nothing of this one was, as for any refusal.
            var lineOf = requests.ToDictionary(r => r.Request.DeviceId, r => r.Line, StringComparer.Ordinal);
            return ([], taken.Select(id => new LineProblem { Line = lineOf.GetValueOrDefault(id), Problem = $"device {id} is already enrolled" }).ToList());
        }
        return (enrolled, []);
    }

    private static string? Validate(EnrollDevice request, out byte[]? key)
    {
        key = null;
        if (string.IsNullOrWhiteSpace(request.DeviceId) || request.DeviceId.Length > MaxIdLength
            || !request.DeviceId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            return "deviceId must be 1-128 letters, digits, '-', '_', '.' or ':'";
        if (string.IsNullOrWhiteSpace(request.NetworkSegment))
            return "networkSegment is required";
        try
        {
            key = Convert.FromBase64String(request.AttestationPublicKey);
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(key, out _);
            if (ecdsa.ExportParameters(false).Curve.Oid.Value != "1.2.840.10045.3.1.7")
                return "attestationPublicKey must be an ECDSA P-256 key";
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return "attestationPublicKey is not a base64 SubjectPublicKeyInfo";
        }
        return null;
    }

    private static string Field(CsvReader reader, string name) =>
        reader.HeaderRecord!.FirstOrDefault(h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase)) is { } header
            ? reader.GetField(header) ?? ""
            : "";
}
