using Decommission.Topology;

// The catalogue's derived artefacts, for ops/up.sh and for regenerating committed files:
//   users                 user<TAB>configure<TAB>write<TAB>read, one line per broker user
//   device-identity-administrator   user<TAB>tag<TAB>vhost<TAB>configure<TAB>write<TAB>read: the credentials service's management user
//   device-users          user<TAB>configure<TAB>write<TAB>read<TAB>topic write<TAB>topic read: rights in the devices' virtual host
//   declare <admin-uri> [--quorum]   declares the shared topology on that broker and virtual host (quorum queues: a cluster)
//   definitions [--cluster]          the compose broker definitions (ops/rabbitmq/definitions.json; --cluster: the cluster
//                                    profile's, ops/rabbitmq/definitions-cluster.json: quorum queues, mirrored device sessions)
//   table                 the README's table of who may send what
switch (args)
{
    case ["users"]:
        foreach (var user in BrokerPermissions.All)
            Console.WriteLine(user.ToLine());
        return 0;
    case ["device-identity-administrator"]:
        Console.WriteLine(DeviceIdentityAdministrator.ToLine());
        return 0;
    case ["device-users"]:
        foreach (var user in DeviceVirtualHost.Users)
            Console.WriteLine(user.ToLine());
        return 0;
    case ["declare", var uri]:
        await BrokerTopology.DeclareAsync(new Uri(uri));
        return 0;
    case ["declare", var uri, "--quorum"]:
        await BrokerTopology.DeclareAsync(new Uri(uri), quorum: true);
        return 0;
    case ["definitions"]:
        Console.Write(BrokerDefinitions.Json());
        return 0;
    case ["definitions", "--cluster"]:
        Console.Write(BrokerDefinitions.Json(cluster: true));
        return 0;
    case ["table"]:
        Console.Write(PermissionTable.Markdown());
        return 0;
    default:
        Console.Error.WriteLine("usage: Decommission.Topology users | device-users | device-identity-administrator | declare <admin-amqp-uri> [--quorum] | definitions [--cluster] | table");
        return 2;
}
