"""Training and measuring the emotion model: data, augmentation, the network, training, calibration of the
crop geometry, export, distillation and evaluation. Only this package imports TensorFlow; the app's runtime
(the rest of ``emotion``) never imports it."""
