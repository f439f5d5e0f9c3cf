using Dapper;

namespace Decommission.Certificates.Destructions;

/// <summary>A physical destruction as recorded: who did it (an API key's name), and who witnessed it (another key's), once witnessed.</summary>
public sealed record DestructionRecord
{
    public string RecordId { get; init; } = "";
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string Method { get; init; } = "";
    public string Location { get; init; } = "";
    public DateTimeOffset DestroyedAt { get; init; }
    public string PerformedBy { get; init; } = "";
    public string PerformedByKey { get; init; } = "";
    public DateTimeOffset RecordedAt { get; init; }
    public string? Witness { get; init; }
    public string? WitnessKey { get; init; }
    public DateTimeOffset? WitnessedAt { get; init; }

    public bool IsWitnessed => Witness is not null;
    public string Status => IsWitnessed ? "witnessed" : "awaiting witness";
}

/// <summary>Owns the destruction_records table.</summary>
public sealed class DestructionStore(CertificatesDatabase database)
{
    private const string Columns = """
        record_id AS RecordId, retirement_id AS RetirementId, device_id AS DeviceId, method AS Method, location AS Location,
        destroyed_at AS DestroyedAt, performed_by AS PerformedBy, performed_by_key AS PerformedByKey, recorded_at AS RecordedAt,
        witness AS Witness, witness_key AS WitnessKey, witnessed_at AS WitnessedAt
        """;

    public async Task AddAsync(DestructionRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("""
            INSERT INTO destruction_records (record_id, retirement_id, device_id, method, location, destroyed_at, performed_by, performed_by_key, recorded_at)
            VALUES (@RecordId, @RetirementId, @DeviceId, @Method, @Location, @DestroyedAt, @PerformedBy, @PerformedByKey, @RecordedAt);
            """, new
        {
            record.RecordId, RetirementId = record.RetirementId.ToString(), record.DeviceId, record.Method, record.Location,
            DestroyedAt = record.DestroyedAt.ToString("O"), record.PerformedBy, record.PerformedByKey, RecordedAt = record.RecordedAt.ToString("O"),
        });
    }

    public async Task<DestructionRecord?> FindAsync(string recordId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM destruction_records WHERE record_id = @RecordId;", new { RecordId = recordId });
        return row?.ToRecord();
    }

    /// <summary>The latest witnessed destruction of this device for this retirement, if any.</summary>
    public async Task<DestructionRecord?> FindWitnessedAsync(Guid retirementId, string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QueryFirstOrDefaultAsync<Row>($"""
            SELECT {Columns} FROM destruction_records
            WHERE retirement_id = @RetirementId AND device_id = @DeviceId AND witness IS NOT NULL
            ORDER BY witnessed_at DESC LIMIT 1;
            """, new { RetirementId = retirementId.ToString(), DeviceId = deviceId });
        return row?.ToRecord();
    }

    /// <summary>Marks the record witnessed, unless someone already did; returns the record as it now stands.</summary>
    public async Task<DestructionRecord?> WitnessAsync(string recordId, string witness, string witnessKey, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("""
            UPDATE destruction_records SET witness = @Witness, witness_key = @WitnessKey, witnessed_at = @At
            WHERE record_id = @RecordId AND witness IS NULL AND performed_by_key <> @WitnessKey AND performed_by <> @Witness;
            """, new { RecordId = recordId, Witness = witness, WitnessKey = witnessKey, At = at.ToString("O") });
        return await FindAsync(recordId, cancellationToken);
    }

    private sealed record Row(string RecordId, string RetirementId, string DeviceId, string Method, string Location, string DestroyedAt,
        string PerformedBy, string PerformedByKey, string RecordedAt, string? Witness, string? WitnessKey, string? WitnessedAt)
    {
        public DestructionRecord ToRecord() => new()
        {
            RecordId = RecordId, RetirementId = Guid.Parse(RetirementId), DeviceId = DeviceId, Method = Method, Location = Location,
            DestroyedAt = Time(DestroyedAt), PerformedBy = PerformedBy, PerformedByKey = PerformedByKey, RecordedAt = Time(RecordedAt),
            Witness = Witness, WitnessKey = WitnessKey, WitnessedAt = WitnessedAt is null ? null : Time(WitnessedAt),
        };

        private static DateTimeOffset Time(string value) => DateTimeOffset.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
