import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crypt, verifyPassword } from '../../src/core/crypt.js';

// vectors made with `openssl passwd` and Python's crypt (glibc) on this machine
const VECTORS: [string, string][] = [
  ['pass word', '$apr1$abcdefgh$NriZ3KceyQFy368Ufp8U./'],
  ['', '$apr1$ab$S8K6Sgp3W8c9Jb6LxgywZ.'],
  ['pass word', '$1$xy12$LD4DDt/KkIIlmku21cdvw0'],
  ['pass word', '$5$saltsaltsaltsalt$soxJXDyD/BX0BZzhZIZ6Dqn4aDZ7v8CqAYOmLzk29e0'],
  ['pass word', '$5$abc$AJNWwGOtbf2x9W0bN06J1uqFItzCA9LIt80lsFir/09'],
  ['pass word', '$5$rounds=1000$abc$yGMK9eXfPhNUbvUMUoNrRYjXnTaaqkz5QWYMvdIbSz2'],
  ['pass word', '$6$s4lt$ncAec8wCrCZONE6rm7aBqp/yQCbV4mi/1NKCFWDzHiT0SxLaFku.9Csfl3O8Otmzlfg1GWryMJm6IGolxDqTb1'],
  ['p'.repeat(70), '$6$x$GSbrD0T3HZjvxmBQUSjLM8flhFHVy70mjKpaAtxc38HHtKTYfVcGVQFQ/O9vNmk7nSGY4.CjGxbeCyQIz6cCb1'],
  ['secret', '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ='],
  ['secret', '{SSHA}E2zIFVnow/nzE+ZgdYqGgyhKMIIBAnNhbHR4'],
  ['secret', '{PLAIN}secret'],
];

test('crypt: each scheme gives the stored hash back for the right password', () => {
  for (const [pw, stored] of VECTORS) {
    assert.is(crypt(pw, stored), stored, stored);
    assert.is(verifyPassword(pw, stored), true, `verify ${stored}`);
    assert.is(verifyPassword(pw + 'x', stored), false, `wrong password for ${stored}`);
  }
});

test('crypt: schemes we cannot make are null', () => {
  for (const s of ['abJnggxhB/yWI', '$2y$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui', '$y$j9T$abc$def', 'plain']) {
    assert.is(crypt('x', s), null, s);
    assert.is(verifyPassword('x', s), null, s);
  }
});

test.run();
