using System.Net;
using System.Net.Sockets;

namespace Decommission.Cli.Tests;

/// <summary>decom on a cluster whose first node is gone tries the nodes that answer first.</summary>
public sealed class BrokerNodesTests
{
    [Fact]
    public async Task Nodes_that_accept_a_connection_go_before_those_that_do_not_keeping_their_order()
    {
        using var first = new TcpListener(IPAddress.Loopback, 0);
        using var second = new TcpListener(IPAddress.Loopback, 0);
        first.Start();
        second.Start();
        var gone = $"127.0.0.1:{Decommission.Testing.Decom.ClosedPort()}";
        var up1 = $"127.0.0.1:{((IPEndPoint)first.LocalEndpoint).Port}";
        var up2 = $"127.0.0.1:{((IPEndPoint)second.LocalEndpoint).Port}";

        Assert.Equal([up1, up2, gone], await Broker.ReachableFirstAsync([gone, up1, up2], CancellationToken.None));
        Assert.Equal([up2, up1, gone], await Broker.ReachableFirstAsync([up2, gone, up1], CancellationToken.None));
        Assert.Equal([gone], await Broker.ReachableFirstAsync([gone], CancellationToken.None));
    }
}
