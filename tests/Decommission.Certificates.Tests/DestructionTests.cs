using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Contracts;
using Decommission.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Certificates.Tests;

/// <summary>A Destroy certificate needs two authenticated people: one records the destruction, another witnesses it.</summary>
public sealed class DestructionTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_witnessed_destruction_tells_the_saga_and_its_people_and_facts_are_on_the_certificate(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var order = host.PurgeOrder("dev-shred") with { SanitizationType = "Destroy", Evidence = null };
        using var erin = host.Client(await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync("erin", ApiRoles.Operator));
        using var frank = host.Client(await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync("frank", ApiRoles.Auditor));
        var destroyedAt = new DateTimeOffset(2026, 11, 30, 14, 0, 0, TimeSpan.Zero);

        var created = await erin.PostAsJsonAsync("/api/destructions",
            new { order.RetirementId, order.DeviceId, Method = "Shredding to 2 mm", Location = "Recycler GmbH, Hall 3", DestroyedAt = destroyedAt });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var record = (await created.Content.ReadFromJsonAsync<DestructionsApi.DestructionView>(Web))!;
        Assert.Equal(("erin", "awaiting witness", null), (record.PerformedBy, record.Status, record.Witness));

        // Not witnessed yet: no certificate, whatever the order claims.
        var early = await host.Refuse(order with { Destruction = new PhysicalDestruction { PerformedBy = "mallory", Witness = "mallory" } });
        Assert.Equal(IssueRefusals.NoWitnessedDestruction, early.Reason);
        Assert.Empty(host.Harness.Sent.Select<RecordPhysicalDestruction>());

        var witnessed = await frank.PostAsync($"/api/destructions/{record.RecordId}/witness", null);
        Assert.Equal(HttpStatusCode.OK, witnessed.StatusCode);
        Assert.Equal("witnessed", (await frank.GetFromJsonAsync<DestructionsApi.DestructionView>($"/api/destructions/{record.RecordId}", Web))!.Status);

        var sent = Assert.Single(host.Harness.Sent.Select<RecordPhysicalDestruction>()).Context;
        // Through the type's own exchange (bound to the saga's queue by the broker's set-up), never to queue:retire-device.
        Assert.EndsWith("Decommission.Contracts:RecordPhysicalDestruction", sent.DestinationAddress!.AbsolutePath);
        Assert.Equal((order.RetirementId, record.RecordId), (sent.Message.RetirementId, sent.Message.DestructionRecordId));
        Assert.Equal(("Shredding to 2 mm", "erin", "frank", "Recycler GmbH, Hall 3", destroyedAt),
            (sent.Message.Destruction.Method, sent.Message.Destruction.PerformedBy, sent.Message.Destruction.Witness, sent.Message.Destruction.Location,
                sent.Message.Destruction.DestroyedAt));

        var issued = await host.Issue(order with { Destruction = new PhysicalDestruction { PerformedBy = "mallory", Witness = "mallory", Location = "nowhere" } });
        using var twin = JsonDocument.Parse(await host.StoredJson(issued.CertificateId));
        var certificate = twin.RootElement.GetProperty("certificate");
        Assert.Equal(("Destroy", "erin", "frank", "Recycler GmbH, Hall 3", record.RecordId),
            (certificate.GetProperty("sanitizationType").GetString(), certificate.GetProperty("performedBy").GetString(), certificate.GetProperty("witness").GetString(),
                certificate.GetProperty("location").GetString(), certificate.GetProperty("destructionRecordId").GetString()));
        Assert.DoesNotContain("mallory", twin.RootElement.GetRawText());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Nobody_witnesses_their_own_destruction(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var keys = host.Services.GetRequiredService<ApiKeyStore>();
        var erinKey = await keys.CreateAsync("erin", ApiRoles.Operator);
        using var erin = host.Client(erinKey);
        using var erinAgain = host.Client(await keys.CreateAsync("erin", ApiRoles.Auditor)); // a second key of the same person
        using var frank = host.Client(await keys.CreateAsync("frank", ApiRoles.Operator));
        using var gina = host.Client(await keys.CreateAsync("gina", ApiRoles.Operator));
        var created = await erin.PostAsJsonAsync("/api/destructions",
            new { RetirementId = Guid.NewGuid(), DeviceId = "dev-self", Method = "Crushing", Location = "Depot", DestroyedAt = DateTimeOffset.UtcNow });
        var id = (await created.Content.ReadFromJsonAsync<DestructionsApi.DestructionView>(Web))!.RecordId;

        foreach (var self in new[] { erin, erinAgain })
        {
            var refused = await self.PostAsync($"/api/destructions/{id}/witness", null);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("cannot also witness it", await refused.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.OK, (await frank.PostAsync($"/api/destructions/{id}/witness", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await frank.PostAsync($"/api/destructions/{id}/witness", null)).StatusCode); // a repeated call is answered again
        Assert.Equal(HttpStatusCode.Conflict, (await gina.PostAsync($"/api/destructions/{id}/witness", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await frank.PostAsync("/api/destructions/DR-NOPE/witness", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await frank.PostAsJsonAsync("/api/destructions",
            new { RetirementId = Guid.NewGuid(), DeviceId = "dev\u001b[2J", Method = "", Location = "Depot", DestroyedAt = DateTimeOffset.UtcNow })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client(null).PostAsync($"/api/destructions/{id}/witness", null)).StatusCode);
    }

    [Fact]
    public async Task A_witnessed_destruction_of_another_device_or_retirement_yields_no_certificate()
    {
        await using var host = await CertificatesHost.StartAsync();
        var witnessed = await host.DestroyOrderAsync("dev-a");

        Assert.Equal(IssueRefusals.NoWitnessedDestruction, (await host.Refuse(witnessed with { DeviceId = "dev-b" })).Reason);
        Assert.Equal(IssueRefusals.NoWitnessedDestruction, (await host.Refuse(witnessed with { RetirementId = Guid.NewGuid() })).Reason);
        await host.Issue(witnessed);
    }
}
