// The Node peer facteur is benchmarked against: the most common way to serve a Discord
// interactions endpoint, Discord's own `discord-interactions` package on express 4.
// It answers what facteur answers synchronously: PING (by verifyKeyMiddleware), `/help`
// (role check, then an ephemeral list of the commands the member may run) and `/plan`
// (role check and required option, then a deferred response; the work after it is a no-op).
//
//   DISCORD_PUBLIC_KEY=<hex> ROLE_MAP='{"help":["<role>"]}' node server.js [port]
//
// Listens on 127.0.0.1 only (PORT, or the first argument; default 3001).
'use strict';

const path = require('node:path');
const express = require('express');
const { InteractionResponseFlags, InteractionResponseType, InteractionType, verifyKeyMiddleware } =
  require('discord-interactions');

const publicKey = process.env.DISCORD_PUBLIC_KEY;
if (!publicKey) throw new Error('set DISCORD_PUBLIC_KEY');
const port = Number(process.argv[2] || process.env.PORT || 3001);
const roleMap = JSON.parse(process.env.ROLE_MAP || '{}');
// The same catalog facteur compiles in: names, descriptions and subcommands.
const { commands } = require(path.join(__dirname, '../../config/commands.json'));

// Allowed when the member holds a role the role map grants for `key`; DMs carry no roles.
const allowed = (key, member) => Boolean(member) && (roleMap[key] || []).some((role) => member.roles.includes(role));
const ephemeral = (content) => ({
  type: InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE,
  data: { content, flags: InteractionResponseFlags.EPHEMERAL },
});

const app = express();
app.post('/interactions', verifyKeyMiddleware(publicKey), (req, res) => {
  const interaction = req.body;
  if (interaction.type !== InteractionType.APPLICATION_COMMAND) {
    return res.send(ephemeral('This kind of interaction is not handled.'));
  }
  const { name, options = [] } = interaction.data;
  const { member } = interaction;
  if (!allowed(name, member)) {
    return res.send(ephemeral(`You do not have a role that may run \`/${name}\`. Ask a server admin to grant one.`));
  }
  if (name === 'help') {
    const lines = commands
      .filter((c) => allowed(c.name, member) || (c.subcommands || []).some((s) => allowed(`${c.name}:${s.name}`, member)))
      .map((c) => `• \`/${c.name}\` — ${c.description}`);
    return res.send(ephemeral(`Commands you can run here:\n${lines.join('\n')}`));
  }
  if (name === 'plan') {
    const objective = options.find((o) => o.name === 'objective');
    if (!objective || typeof objective.value !== 'string' || objective.value.length < 3) {
      return res.send(ephemeral('`/plan` needs an `objective` of at least 3 characters.'));
    }
    res.send({ type: InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE });
    // Where the workflow would be submitted and the reply edited: nothing, after the response.
    setTimeout(() => {}, 0);
    return undefined;
  }
  return res.send(ephemeral(`Unknown command \`/${name}\`.`));
});

app.listen(port, '127.0.0.1', () => console.log(`peer listening on http://127.0.0.1:${port}/interactions`));
