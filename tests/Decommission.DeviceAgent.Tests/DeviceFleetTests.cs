using System.Security.Cryptography;
using System.ComponentModel.DataAnnotations;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Decommission.DeviceAgent.Tests;

public sealed class DeviceFleetTests : IDisposable
{
    private readonly GatewayKey gateway = new();
    private readonly string gatewayKeyPath = Path.GetTempFileName();

    public DeviceFleetTests() =>
        File.WriteAllText(gatewayKeyPath, PemEncoding.WriteString("PUBLIC KEY", gateway.PublicKey));

    public void Dispose()
    {
        gateway.Dispose();
        File.Delete(gatewayKeyPath);
    }

    [Fact]
    public async Task Fleet_is_built_from_a_count_and_a_behaviour_mix_with_the_rest_healthy()
    {
        var options = Options(o =>
        {
            o.DeviceCount = 10;
            o.Mix = new() { [DeviceBehaviour.Slow] = 2, [DeviceBehaviour.OfflineUntil] = 1 };
        });

        await using var fleet = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance);

        Assert.Equal(10, fleet.Devices.Count);
        Assert.Equal(["sim-00001", "sim-00002"], fleet.Devices.Values.Where(d => d.Behaviour == DeviceBehaviour.Slow).Select(d => d.Id));
        Assert.Equal(TimeSpan.FromSeconds(2), fleet.Devices["sim-00001"].Spec.Delay);
        Assert.NotNull(fleet.Devices["sim-00003"].Spec.OfflineUntil);
        Assert.Equal(7, fleet.Devices.Values.Count(d => d.Behaviour == DeviceBehaviour.Healthy));
    }

    [Fact]
    public async Task Devices_of_a_fleet_trust_the_gateway_key_from_its_pem_file()
    {
        var options = Options(o => o.Devices = [new DeviceSpec { Id = "meter-7", Behaviour = DeviceBehaviour.Healthy }]);
        await using var fleet = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance);

        var receipt = fleet.Devices["meter-7"].Handle(gateway.Command("meter-7"), GatewayKey.Now);

        Assert.NotNull(receipt);
        Assert.True(fleet.Devices["meter-7"].IsErased);
    }

    [Fact]
    public async Task Attestation_keys_csv_is_an_enrollment_csv_of_every_device_with_its_public_key()
    {
        var options = Options(o => o.DeviceCount = 3);
        await using var fleet = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance);
        var csv = new StringWriter();

        await fleet.WriteAttestationKeysCsvAsync(csv, "floor-b");

        var lines = csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("deviceId,attestationPublicKey,networkSegment", lines[0]);
        Assert.Equal(3, lines.Length - 1);
        foreach (var columns in lines.Skip(1).Select(line => line.Split(',')))
        {
            Assert.Equal(fleet.Devices[columns[0]].AttestationKeyId, ProtocolSigning.KeyId(Convert.FromBase64String(columns[1])));
            Assert.Equal("floor-b", columns[2]);
        }
    }

    [Fact]
    public void Generated_devices_get_their_behaviours_in_declaration_order_whatever_the_configuration_order()
    {
        var options = Options(o =>
        {
            o.DeviceCount = 5;
            o.Mix = new() { [DeviceBehaviour.NeverAnswers] = 1, [DeviceBehaviour.Slow] = 2 };
        });

        var devices = options.ResolveDevices(GatewayKey.Now);

        Assert.Equal(
            [DeviceBehaviour.Slow, DeviceBehaviour.Slow, DeviceBehaviour.NeverAnswers, DeviceBehaviour.Healthy, DeviceBehaviour.Healthy],
            devices.Select(d => d.Behaviour));
        Assert.Equal("sim-00001", devices[0].Id);
    }

    [Theory]
    [InlineData("dev.#")]
    [InlineData("dev,1")]
    [InlineData("")]
    public void Device_id_that_would_break_routing_or_the_csv_is_refused(string id)
    {
        var options = Options(o => o.Devices = [new DeviceSpec { Id = id }]);

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true));
    }

    private DeviceFleetOptions Options(Action<DeviceFleetOptions> configure)
    {
        var options = new DeviceFleetOptions { GatewayPublicKeyPath = gatewayKeyPath };
        configure(options);
        return options;
    }
}
