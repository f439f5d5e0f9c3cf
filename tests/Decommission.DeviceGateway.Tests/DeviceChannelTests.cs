using System.Security.Cryptography;
using System.Text;
using Dapper;
using Decommission.Contracts;
using Decommission.Certificates;
using Decommission.Credentials;
using Decommission.Inventory;
using Decommission.DeviceAgent;
using Decommission.DeviceProtocol;
using Decommission.Orchestrator.StateMachines;
using Decommission.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

/// <summary>
/// Every service for real (orchestrator, inventory, credentials, device gateway, certificates) on the RabbitMQ node
/// ops/test.sh starts, with a simulated fleet that really erases. A wipe counts only when the device proves it.
/// This part: the tests are in DeviceChannelTests.*.cs by concern; the services and the fleet in <see cref="GatewayFlow"/>.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed partial class DeviceChannelTests : GatewayFlow
{
    private DeviceSpec Device(DeviceBehaviour behaviour, DateTimeOffset? offlineUntil = null) =>
        new() { Id = $"{behaviour.ToString().ToLowerInvariant()}-{_run}", Behaviour = behaviour, OfflineUntil = offlineUntil };
}
