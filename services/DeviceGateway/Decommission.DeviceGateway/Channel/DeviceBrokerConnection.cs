using Decommission.ServiceDefaults;
using RabbitMQ.Client;

namespace Decommission.DeviceGateway.Channel;

/// <summary>How the gateway reaches the device broker: AMQP over TLS, the broker's certificate checked against the configured
/// CA (never the machine's store, never "accept any"); plain AMQP only when the URI says amqp://. On a cluster
/// (Broker:Nodes), the first node that answers, and another when it is lost.</summary>
public static class DeviceBrokerConnection
{
    /// <summary>A connection to the first reachable node of <paramref name="cluster"/> (the URI's host when none is configured);
    /// the client's recovery, and the channel's own watch, reconnect to whichever node is left.</summary>
    public static Task<IConnection> ConnectAsync(DeviceGatewayOptions options, BrokerClusterOptions cluster, CancellationToken cancellationToken)
    {
        var factory = Factory(options);
        return factory.CreateConnectionAsync(BrokerClusterOptions.Endpoints(factory, cluster.NodeList), cancellationToken);
    }

    public static ConnectionFactory Factory(DeviceGatewayOptions options)
    {
        var factory = new ConnectionFactory
        {
            Uri = options.DeviceBrokerUri,
            ClientProvidedName = "decommission-device-gateway",
            AutomaticRecoveryEnabled = true,
        };
        // The URI has set Enabled and ServerName (its host): the certificate must name that host and chain to our CA, as
        // for the services' own bus (BrokerTls).
        if (BrokerTls.IsTls(options.DeviceBrokerUri))
            factory.Ssl.CertificateValidationCallback = BrokerTls.ServerCertificateValidator(options.DeviceBrokerCaCertificatePath);
        return factory;
    }
}
